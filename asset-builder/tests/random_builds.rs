//! Random end-to-end builds: generated source trees (odd Unicode names, real CSS/JS snippets
//! with references in every spelling, cycles, siblings, digested names, `--no-fingerprint`
//! globs) built by the real CLI binary.
//!
//! Every build must exit 0, or 1 with a clean `asset-builder: error:` line (never a panic), and
//! every exit-0 OUT must match its `cdn-manifest.json`: each entry's file exists with that size,
//! ETag and integrity, each listed sibling exists and decompresses to exactly the file's bytes,
//! nothing unlisted is there but the manifests, the index and `.assetsignore`, the index and
//! `manifest.json` agree, and every reference in a published CSS/JS file that names a file
//! names a published one (or is left exactly as the source wrote it).
//!
//! `make test` runs a fixed set of seeds (`ASSET_BUILDER_RANDOM_BUILDS`, default 40, from
//! `ASSET_BUILDER_RANDOM_SEED`, default 0); `make fuzz` runs more with a fresh seed.
//! `ASSET_BUILDER_RANDOM_SHOW_ERRORS=1` prints every exit-1 message.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use asset_builder::fingerprint::{etag, integrity, sha256};
use asset_builder::reference::{resolve, Target};
use asset_builder::rewrite::find_refs;
use cdn_manifest::{Index, Manifest, Root};
use common::{cli, decode_delta, decompress, percent_decode, snapshot, write};

/// SplitMix64: small, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAME_PARTS: &[&str] = &[
    "app",
    "main",
    "é",
    "日本",
    "🦀",
    "a b",
    "x%41",
    "100%",
    "q?x",
    "h#f",
    "plus+1",
    "semi;c",
    "it's",
    "paren(1)",
    "amp&",
    "tilde~",
    "ünï",
    "e\u{301}",
    "zw\u{200b}j",
    "..dots",
    "UPPER",
    "manifest",
    "cdn-manifest",
    "dollar$",
    "at@",
    "comma,",
    "eq=",
    "ø",
    "Ω",
    "-dash",
    "_u",
];
const DIRS: &[&str] = &[
    "",
    "",
    "css",
    "js",
    "img",
    "static",
    "a b",
    "日本",
    "vendor/lib",
    "x.png",
];
const BINARY_EXTS: &[&str] = &[
    "png",
    "svg",
    "txt",
    "json",
    "map",
    "woff2",
    "ico",
    "webmanifest",
];

const CSS_SNIPPETS: &[&str] = &[
    ":root{--bs-blue:#0d6efd;--bs-font-sans-serif:system-ui,-apple-system,\"Segoe UI\",Roboto}\n",
    ".btn{display:inline-block;padding:.375rem .75rem;border:1px solid transparent}\n",
    "@media (min-width:576px){.container{max-width:540px}}\n",
    ".x::after{content:\"url(not-a-ref.png)\"}\n",
    "/* url(in-a-comment.png) @import 'no.css'; */\n",
    ".d{background:url(data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'%3e%3c/svg%3e)}\n",
    ".e{background:url(\"data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'/%3e\")}\n",
    ".f{background:url(https://cdn.example.com/x.png)} .g{background:url(//cdn.test/y.png)}\n",
    ".h{background:url(/root-relative.png)} .i{background:url(#frag)}\n",
    ".fa-solid{font-weight:900}\n.fa-rotate-90{transform:rotate(90deg)}\n",
    "@font-face{font-family:x;src:local(x)}\n",
    "\\62 ody{color:red}\n",
];

/// Snippets the builder reports as unclassified (an error with `--strict`): used sparingly.
const DOUBTFUL: &[&str] = &[
    "a{b:url(a b.png)}\n",
    "const load = (l) => import(`./locale/${l}.js`);\n",
];

const JS_SNIPPETS: &[&str] = &[
    "export const a = 1;\n",
    "const s = \"import x from './in-a-string.js'\";\n",
    "// import y from './in-a-comment.js'\n",
    "const re = /import e from '.\\/no.js'/g;\n",
    "let d = a / b / c;\n",
    "import 'lodash';\nimport { Controller } from '@hotwired/stimulus';\n",
    "const t = `template ${1 + 2} import('./not.js')`;\n",
    "if (x) { y() }\n/'/.test(s);\n",
    "function f(a) { return a.import; }\n",
    "export default class extends Controller { connect() { this.element.textContent = 'hi'; } }\n",
    "x = ({}) / 2;\n",
    "while (i--) /\\/\\*/.exec(s);\n",
];

/// One generated tree and the options to build it with.
struct Case {
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    public_path: String,
    base_url: String,
}

fn relative(from_dir: &[&str], to: &str) -> String {
    let tp: Vec<&str> = to.split('/').collect();
    let common = from_dir.iter().zip(&tp).take_while(|(a, b)| a == b).count();
    let mut s = "../".repeat(from_dir.len() - common);
    s.push_str(&tp[common..].join("/"));
    s
}

/// A reference from `from` to `to` in one of many spellings. `quote` is the quote it goes in
/// (0 for an unquoted CSS url).
fn spell(rng: &mut Rng, from: &str, to: &str, js_import: bool, quote: u8) -> String {
    let from_dir: Vec<&str> = match from.rsplit_once('/') {
        Some((d, _)) => d.split('/').collect(),
        None => vec![],
    };
    let mut rel = relative(&from_dir, to);
    if rng.chance(15) {
        // Through a sibling directory and back, or a dot segment.
        rel = format!("{}{rel}", rng.pick(&["./", "sub/../", "%2e/", "./././"]));
    }
    let mut out = String::new();
    for (i, seg) in rel.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg == ".." || seg == "." || seg == "%2e" {
            out.push_str(seg);
            continue;
        }
        for c in seg.chars() {
            let must = " \"'()\\?#%`${}*<>\t\n".contains(c) || c as u32 == quote as u32;
            if must || (!c.is_ascii() && rng.chance(50)) || rng.chance(8) {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    if rng.chance(50) {
                        out.push_str(&format!("%{b:02X}"));
                    } else {
                        out.push_str(&format!("%{b:02x}"));
                    }
                }
            } else {
                out.push(c);
            }
        }
    }
    if js_import && !(out.starts_with("./") || out.starts_with("../")) {
        out = format!("./{out}");
    }
    match rng.below(12) {
        0 => out.push_str("?v=4.7"),
        1 => out.push_str("#iefix"),
        2 => out.push_str("?a=1#b"),
        3 => out.push_str("/."), // a directory: never a file
        4 if !js_import => out = format!("{out}-missing"),
        _ => {}
    }
    out
}

fn generate(seed: u64) -> Case {
    let mut rng = Rng(seed);
    let n = 2 + rng.below(10);
    let mut paths: BTreeSet<String> = BTreeSet::new();
    let mut invalid = false;
    while paths.len() < n {
        let dir = rng.pick(DIRS).to_string();
        let mut base = rng.pick(NAME_PARTS).to_string();
        if rng.chance(30) {
            base = format!("{base}{}", rng.pick(NAME_PARTS));
        }
        if !invalid && rng.chance(1) {
            base.push(rng.pick(&['\u{7}', '\\', '\n']));
            invalid = true;
        }
        let ext = match rng.below(10) {
            0..=3 => "css".to_string(),
            4..=7 => "js".to_string(),
            _ => rng.pick(BINARY_EXTS).to_string(),
        };
        let name = if rng.chance(8) {
            format!("{base}-abcdef1{}.digested.{ext}", rng.below(10))
        } else {
            format!("{base}.{ext}")
        };
        let path = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        paths.insert(path);
    }
    let mut list: Vec<String> = paths.into_iter().collect();
    // Hand-made siblings, and the builder's own file names.
    if rng.chance(10) {
        let p = list[rng.below(list.len())].clone();
        list.push(format!("{p}{}", rng.pick(&[".gz", ".br"])));
    }
    if rng.chance(5) {
        list.push(
            rng.pick(&[
                "manifest.json",
                "cdn-manifest.json",
                ".assetsignore",
                "asset-history.json",
            ])
            .to_string(),
        );
    }
    list.sort();
    list.dedup();
    // A file and a directory of the same name cannot both exist: keep the first.
    let mut kept: Vec<String> = Vec::new();
    for p in list {
        let clash = kept
            .iter()
            .any(|k| p.starts_with(&format!("{k}/")) || k.starts_with(&format!("{p}/")));
        if !clash {
            kept.push(p);
        }
    }
    let list = kept;

    let mut files = Vec::new();
    for path in &list {
        let target = |rng: &mut Rng| list[rng.below(list.len())].clone();
        let bytes = if path.ends_with(".css") {
            let mut s = String::new();
            for _ in 0..1 + rng.below(6) {
                s.push_str(rng.pick(CSS_SNIPPETS));
                let t = target(&mut rng);
                match rng.below(7) {
                    0 => s.push_str(&format!(
                        "@import \"{}\";\n",
                        spell(&mut rng, path, &t, false, b'"')
                    )),
                    1 => s.push_str(&format!(
                        ".r{}{{background:url({})}}\n",
                        rng.below(99),
                        spell(&mut rng, path, &t, false, 0)
                    )),
                    2 => s.push_str(&format!(
                        ".q{{background:url('{}')}}\n",
                        spell(&mut rng, path, &t, false, b'\'')
                    )),
                    3 => s.push_str(&format!(
                        ".w{{src:url( \"{}\" ) format('woff2')}}\n",
                        spell(&mut rng, path, &t, false, b'"')
                    )),
                    4 => s.push_str(&format!(
                        "/*# sourceMappingURL={} */\n",
                        spell(&mut rng, path, &t, false, b' ')
                    )),
                    5 => s.push_str(&format!(
                        "@import url({}) screen;\n",
                        spell(&mut rng, path, &t, false, 0)
                    )),
                    _ => s.push_str(".plain{color:#333;margin:0 auto}\n"),
                }
            }
            if rng.chance(5) {
                s.push_str(rng.pick(DOUBTFUL));
            }
            s.push_str(&".pad{padding:1rem 2rem;border-radius:.25rem}\n".repeat(rng.below(20)));
            s.into_bytes()
        } else if path.ends_with(".js") {
            let mut s = String::new();
            for _ in 0..1 + rng.below(6) {
                s.push_str(rng.pick(JS_SNIPPETS));
                let t = target(&mut rng);
                let q = rng.pick(b"'\"") as char;
                let spec = spell(&mut rng, path, &t, true, q as u8);
                let url = spell(&mut rng, path, &t, false, q as u8);
                match rng.below(9) {
                    0 => s.push_str(&format!("import x{} from {q}{spec}{q};\n", rng.below(99))),
                    1 => s.push_str(&format!("import {q}{spec}{q};\n")),
                    2 => s.push_str(&format!("export * from {q}{spec}{q};\n")),
                    3 => s.push_str(&format!(
                        "const m = () => import({q}{spec}{q} /*# sourceMappingURL={} */);\n",
                        spell(&mut rng, path, &t, false, b' ')
                    )),
                    4 => s.push_str(&format!("if (a) /'/.test(s); import({q}{spec}{q});\n")),
                    5 => s.push_str(&format!(
                        "const u = new URL({q}{url}{q}, import.meta.url);\n"
                    )),
                    6 => s.push_str(&format!("const z = `${{ import({q}{spec}{q}) }}`;\n")),
                    7 => s.push_str(&format!(
                        "import({q}{q}//# sourceMappingURL={}\n);\n",
                        spell(&mut rng, path, &t, false, b' ')
                    )),
                    _ => s.push_str(&format!(
                        "//# sourceMappingURL={}\n",
                        spell(&mut rng, path, &t, false, b' ')
                    )),
                }
            }
            if rng.chance(5) {
                s.push_str(rng.pick(DOUBTFUL));
            }
            s.push_str(&"console.log('padding so it compresses');\n".repeat(rng.below(20)));
            s.into_bytes()
        } else if path.ends_with(".png") || path.ends_with(".woff2") {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            format!("{{\"name\":\"{}\"}}\n", "x".repeat(rng.below(400))).into_bytes()
        };
        files.push((path.clone(), bytes));
    }

    let public_path = rng
        .pick(&["/assets/", "/", "/static/v2/", "/ünï/"])
        .to_string();
    let mut args = vec!["--public-path".to_string(), public_path.clone()];
    let mut base_url = String::new();
    if rng.chance(20) {
        base_url = "https://cdn.example.com".into();
        args.extend(["--base-url".into(), base_url.clone()]);
    }
    for glob in [
        "**/*.txt",
        "static/**",
        "**",
        "manifest.json",
        "*.map",
        "**/*.json",
    ] {
        if rng.chance(12) {
            args.extend(["--no-fingerprint".into(), glob.into()]);
        }
    }
    if rng.chance(25) {
        args.push("--strict".into());
    }
    args.extend(["--jobs".into(), (1 + rng.below(2)).to_string()]);
    if rng.chance(50) {
        args.push("--no-cache".into());
    }
    Case {
        files,
        args,
        public_path,
        base_url,
    }
}

/// Deltas decoded and checked by [`verify`], over the whole run.
static DELTAS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Checks an exit-0 OUT against its manifests; returns what is wrong. With a history, entries of
/// the earlier build are there too (not in `manifest.json`), and every delta decodes to its
/// entry's bytes against the entry whose bytes are its dictionary.
fn verify(case: &Case, src: &Path, out: &Path) -> Result<(), String> {
    let cdn =
        Manifest::from_json(&fs::read(out.join("cdn-manifest.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if cdn.public_path != case.public_path {
        return Err(format!("public path {}", cdn.public_path));
    }
    let mut listed: BTreeSet<String> = [
        "manifest.json",
        "cdn-manifest.json",
        "cdn-manifest.bin",
        ".assetsignore",
        "asset-history.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let root = Root::from_bytes(&fs::read(out.join("cdn-manifest.bin")).unwrap())
        .map_err(|e| e.to_string())?;
    let mut shards = Vec::new();
    for i in 0..root.shard_count() {
        let name = cdn_manifest::shard_path("cdn-manifest.bin", i);
        let bytes = fs::read(out.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        shards.push(Index::from_bytes(bytes).map_err(|e| format!("{name}: {e}"))?);
        listed.insert(name);
    }
    let symfony: BTreeMap<String, String> =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let current = cdn
        .entries
        .values()
        .map(|e| e.deploy.as_str())
        .max()
        .unwrap_or_default()
        .to_string();
    let listed_now = cdn.entries.values().filter(|e| e.deploy == current).count();
    if symfony.len() != listed_now {
        return Err("manifest.json and cdn-manifest.json's current deploy differ in size".into());
    }
    let by_sha: BTreeMap<String, String> = cdn
        .entries
        .keys()
        .map(|p| {
            let bytes = fs::read(out.join(p.trim_start_matches('/'))).unwrap_or_default();
            (asset_builder::fingerprint::hex(&sha256(&bytes)), p.clone())
        })
        .collect();
    let logical: BTreeSet<&str> = case.files.iter().map(|(p, _)| p.as_str()).collect();
    for (path, e) in &cdn.entries {
        let rel = path.trim_start_matches('/');
        let file = out.join(rel);
        let bytes = fs::read(&file).map_err(|err| format!("{path}: {err}"))?;
        if bytes.len() as u64 != e.size {
            return Err(format!("{path}: size {} != {}", bytes.len(), e.size));
        }
        if etag(&sha256(&bytes)) != e.etag || integrity(&bytes) != e.integrity {
            return Err(format!(
                "{path}: ETag or integrity does not match its bytes"
            ));
        }
        if !logical.contains(e.logical_path.as_str()) {
            return Err(format!("{path}: unknown logical path {}", e.logical_path));
        }
        for d in &e.deltas {
            let stored = cdn_manifest::Delta::path_for(path, &d.dictionary, d.encoding);
            let rel_delta = stored.trim_start_matches('/').to_string();
            let body = fs::read(out.join(&rel_delta)).map_err(|err| format!("{stored}: {err}"))?;
            let dict_path = by_sha
                .get(&d.dictionary)
                .ok_or_else(|| format!("{stored}: its dictionary is not an entry"))?;
            let dict = fs::read(out.join(dict_path.trim_start_matches('/'))).unwrap();
            let back =
                decode_delta(d.encoding, &dict, &body).map_err(|err| format!("{stored}: {err}"))?;
            if back != bytes || body.len() as u64 != d.size {
                return Err(format!("{stored} does not decode to {path}"));
            }
            listed.insert(rel_delta);
            DELTAS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if e.deploy != current {
            // An earlier build's entry: its bytes and siblings are checked, not its source.
            listed.insert(rel.to_string());
            for (enc, rep) in &e.encodings {
                let sib = format!("{rel}{}", enc.suffix());
                let packed = fs::read(out.join(&sib)).map_err(|err| format!("{sib}: {err}"))?;
                if packed.len() as u64 != rep.size || decompress(*enc, &packed) != bytes {
                    return Err(format!("{sib} does not decompress to {rel}"));
                }
                listed.insert(sib);
            }
            continue;
        }
        let url = symfony
            .get(&e.logical_path)
            .ok_or_else(|| format!("{} missing from manifest.json", e.logical_path))?;
        let url_path = url.strip_prefix(&case.base_url).unwrap_or(url);
        if percent_decode(url_path) != *path {
            return Err(format!("manifest.json {url} is not {path}"));
        }
        let got = shards[root.shard_of(path)]
            .get(path)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| format!("{path} missing from the index"))?;
        if got.size != e.size || got.etag != e.etag || got.immutable != e.immutable {
            return Err(format!("{path}: index disagrees with the JSON"));
        }
        listed.insert(rel.to_string());
        for (enc, rep) in &e.encodings {
            let sib = format!("{rel}{}", enc.suffix());
            let packed = fs::read(out.join(&sib)).map_err(|err| format!("{sib}: {err}"))?;
            if packed.len() as u64 != rep.size {
                return Err(format!("{sib}: size {} != {}", packed.len(), rep.size));
            }
            if decompress(*enc, &packed) != bytes {
                return Err(format!("{sib} does not decompress to {rel}"));
            }
            if got.representation(*enc).map(|r| r.0) != Some(rep.size) {
                return Err(format!("{sib}: index disagrees with the JSON"));
            }
            listed.insert(sib);
        }
        // Every reference that names a file names a published one, or is as the source wrote it.
        let ext = asset_builder::content_type::extension(&e.logical_path);
        let source = fs::read(src.join(&e.logical_path)).unwrap();
        let published_rel = path.strip_prefix(&case.public_path).unwrap();
        let prefix = case.public_path.trim_start_matches('/');
        for r in find_refs(&ext, &bytes).refs {
            let Ok(spec) = std::str::from_utf8(&bytes[r.span.clone()]) else {
                continue;
            };
            if let Target::File(f) = resolve(published_rel, spec, r.kind) {
                let exists = out.join(format!("{prefix}{}", f.path)).is_file();
                let as_written = source.windows(spec.len()).any(|w| w == spec.as_bytes());
                if !exists && !as_written {
                    return Err(format!(
                        "{path}: reference `{spec}` names no published file"
                    ));
                }
            }
        }
    }
    for entry in walkdir::WalkDir::new(out).into_iter().flatten() {
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(out)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !listed.contains(&rel) {
                return Err(format!("unlisted file {rel}"));
            }
        }
    }
    Ok(())
}

/// Builds one case (twice when `rebuild`); the exit codes seen, or what went wrong.
fn run(seed: u64) -> Result<Vec<i32>, String> {
    let case = generate(seed);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let out = dir.path().join("out");
    for (rel, bytes) in &case.files {
        write(&src, rel, bytes);
    }
    let mut codes = Vec::new();
    let mut rng = Rng(seed ^ 0x5eed);
    let mut with_history = false;
    for round in 0..2 {
        if round == 1 {
            if !rng.chance(25) {
                break;
            }
            // Change one file and build again into the same OUT; half the time keeping the first
            // build as history, a stylesheet or script changed enough for deltas to pay.
            with_history = rng.chance(50);
            let scripts: Vec<&String> = case
                .files
                .iter()
                .map(|(rel, _)| rel)
                .filter(|r| r.ends_with(".css") || r.ends_with(".js"))
                .collect();
            let rel = match scripts.len() {
                n if with_history && n > 0 => scripts[rng.below(n)],
                _ => &case.files[rng.below(case.files.len())].0,
            };
            let p = src.join(rel);
            if p.is_file() {
                let mut bytes = fs::read(&p).unwrap();
                if with_history {
                    bytes.extend_from_within(..);
                }
                bytes.extend_from_slice(b"\n/* changed */\n");
                fs::write(&p, bytes).unwrap();
            }
        }
        let before = snapshot(&out);
        // With deltas on small files too.
        let history: Vec<String> = if with_history {
            [
                "--history",
                "out",
                "--history-optional",
                "--delta-min-size",
                "0",
            ]
            .map(String::from)
            .to_vec()
        } else {
            Vec::new()
        };
        let output = cli()
            .arg("build")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .args(&case.args)
            .args(["--deploy-id", &format!("r{round}")])
            .args(&history)
            .arg("--quiet")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().unwrap_or(-1);
        codes.push(code);
        match code {
            0 => verify(&case, &src, &out).map_err(|e| format!("{e}\nargs {:?}", case.args))?,
            1 => {
                if std::env::var_os("ASSET_BUILDER_RANDOM_SHOW_ERRORS").is_some() {
                    eprintln!("seed {seed}: {}", stderr.trim());
                }
                let clean = stderr
                    .lines()
                    .any(|l| l.starts_with("asset-builder: error: "))
                    && !stderr.contains("panicked");
                if !clean {
                    return Err(format!("exit 1 without a clean error line: {stderr}"));
                }
                if snapshot(&out) != before {
                    return Err("a failed build changed OUT".into());
                }
            }
            _ => return Err(format!("exit {code}: {stderr}\nargs {:?}", case.args)),
        }
    }
    Ok(codes)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_trees_build_cleanly_and_match_their_manifests() {
    let count = env_u64("ASSET_BUILDER_RANDOM_BUILDS", 40);
    let first = env_u64("ASSET_BUILDER_RANDOM_SEED", 0);
    let mut exits: BTreeMap<i32, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for seed in first..first + count {
        match run(seed) {
            Ok(codes) => {
                for c in codes {
                    *exits.entry(c).or_default() += 1;
                }
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    println!(
        "random builds: seeds {first}..{}, exit codes {exits:?}, {} deltas decoded",
        first + count,
        DELTAS.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    let ok = exits.get(&0).copied().unwrap_or(0);
    assert!(
        ok as u64 * 3 >= count,
        "too few builds succeeded to check much: {exits:?}"
    );
}
