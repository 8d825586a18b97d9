//! Deploy history (`--history`) and deltas, end to end through the library and the CLI: real
//! builds into temporary directories, histories read from a directory and from a loopback HTTP
//! server that serves the edge's well-known layout, and corrupted histories.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use asset_builder::fingerprint::sha256;
use asset_builder::history::{History, Source};
use asset_builder::report::NoProgress;
use asset_builder::{build, BuildError, Options, Report, Warning};
use cdn_manifest::{DeltaEncoding, Manifest};
use common::{cli, decode_delta, percent_decode, snapshot, write};

const DAY: u64 = 86_400;
const T0: u64 = 1_764_244_800;

/// A script large enough for deltas, different in `version`: one line in fifteen names it (a
/// real release, not a patch-like one).
fn app_js(version: u32) -> String {
    let mut s = String::from("import { greet } from './greet.js';\n");
    for i in 0..300 {
        let place = if i % 15 == 0 {
            format!("shop-v{version}-{}", i * 7 + version as usize)
        } else {
            "shop".to_string()
        };
        s.push_str(&format!(
            "export function handler{i}(event) {{ return greet(event.target, {i}, '{place}'); }}\n"
        ));
    }
    s.push_str(&format!("export const VERSION = '{version}.0.0';\n"));
    s
}

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Self {
        let s = Site {
            dir: tempfile::tempdir().unwrap(),
        };
        let src = s.src();
        write(&src, "js/app.js", app_js(1));
        write(
            &src,
            "js/greet.js",
            "export const greet = (t, i, s) => `${s}:${i}`;\n".repeat(40),
        );
        write(
            &src,
            "css/app.css",
            "body { color: #222; margin: 0 auto; }\n".repeat(60),
        );
        write(&src, "img/logo.png", b"\x89PNG\r\n\x1a\nnot-compressible");
        write(&src, "robots.txt", "User-agent: *\n");
        s
    }
    fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn opts(&self, id: &str, time: u64) -> Options {
        let mut o = Options::new(self.src(), self.out());
        o.cache_dir = Some(self.dir.path().join("cache"));
        o.deploy_id = Some(id.into());
        o.deploy_time = Some(time);
        o.no_fingerprint = vec!["robots.txt".into()];
        o.keep.deploys = 3;
        o.history = Some(Source::Dir(self.out()));
        o.history_optional = true;
        o
    }
    /// Deploy `n`: app.js at version `n`, built with the history of OUT.
    fn deploy(&self, n: u32) -> Report {
        write(&self.src(), "js/app.js", app_js(n));
        build(
            &self.opts(&format!("d{n}"), T0 + u64::from(n) * 60),
            &NoProgress,
        )
        .unwrap()
    }
    fn cdn(&self) -> Manifest {
        Manifest::from_json(&fs::read(self.out().join("cdn-manifest.json")).unwrap()).unwrap()
    }
    fn symfony(&self) -> BTreeMap<String, String> {
        serde_json::from_slice(&fs::read(self.out().join("manifest.json")).unwrap()).unwrap()
    }
    fn history(&self) -> History {
        History::from_json(&fs::read(self.out().join("asset-history.json")).unwrap()).unwrap()
    }
}

#[test]
fn three_deploys_keep_every_file_and_deltas_decode_to_the_new_version() {
    let site = Site::new();
    let r1 = site.deploy(1);
    assert!(
        r1.warnings
            .iter()
            .any(|w| matches!(w, Warning::HistoryIgnored { .. })),
        "no history yet: {:?}",
        r1.warnings
    );
    let d1 = site.symfony();
    let d1_files = snapshot(&site.out());
    site.deploy(2);
    let r3 = site.deploy(3);
    let d3 = site.symfony();
    let cdn = site.cdn();
    let out = site.out();

    // Symfony's manifest lists only the current deploy; every file of deploy 1 is still there.
    assert_eq!(d3.len(), 5);
    assert_ne!(d1["js/app.js"], d3["js/app.js"]);
    for (rel, bytes) in &d1_files {
        if rel.starts_with("assets/") && !rel.contains("robots") {
            assert_eq!(
                &fs::read(out.join(rel)).unwrap(),
                bytes,
                "{rel} of deploy 1"
            );
        }
    }
    // The edge's index lists every kept entry with the newest deploy that publishes it.
    let deploy_of = |url: &str| cdn.entries[url].deploy.clone();
    assert_eq!(deploy_of(&d1["js/app.js"]), "d1");
    assert_eq!(deploy_of(&d3["js/app.js"]), "d3");
    assert_eq!(deploy_of(&d3["css/app.css"]), "d3", "shared by all three");
    assert_eq!(
        cdn.entries
            .values()
            .filter(|e| e.logical_path == "js/app.js")
            .count(),
        3
    );
    let h = site.history();
    let ids: Vec<&str> = h.deploys.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d3", "d2", "d1"]);
    assert_eq!(h.deploys[0].date, "2025-11-27T12:03:00Z");
    assert!(h.deploys.iter().all(|d| d.files > 5 && d.bytes > 10_000));
    assert_eq!(r3.deploys.len(), 3);
    assert!(r3.carried_files > 0);

    // app.js v3 has deltas against v2 and v1, most recent first; each decodes to exactly v3.
    let v3 = &cdn.entries[&d3["js/app.js"]];
    assert_eq!(
        v3.use_as_dictionary.as_deref(),
        Some(r#"match="/assets/js/app-*.js", match-dest=("script")"#)
    );
    let new = fs::read(out.join(d3["js/app.js"].trim_start_matches('/'))).unwrap();
    let v2_path = cdn
        .entries
        .iter()
        .find(|(_, e)| e.deploy == "d2" && e.logical_path == "js/app.js")
        .unwrap()
        .0
        .clone();
    let dicts: Vec<(String, DeltaEncoding)> = v3
        .deltas
        .iter()
        .map(|d| (d.dictionary.clone(), d.encoding))
        .collect();
    let hex = |p: &str| {
        asset_builder::fingerprint::hex(&sha256(
            &fs::read(out.join(p.trim_start_matches('/'))).unwrap(),
        ))
    };
    // dcz against both, dcb against the most recent.
    assert_eq!(
        dicts,
        [
            (hex(&v2_path), DeltaEncoding::Zstd),
            (hex(&v2_path), DeltaEncoding::Brotli),
            (hex(&d1["js/app.js"]), DeltaEncoding::Zstd),
        ]
    );
    let br = v3.encodings[&cdn_manifest::Encoding::Brotli].size;
    for d in &v3.deltas {
        let dict_path = [&v2_path, &d1["js/app.js"]]
            .into_iter()
            .find(|p| hex(p) == d.dictionary)
            .unwrap();
        let dictionary = fs::read(out.join(dict_path.trim_start_matches('/'))).unwrap();
        let stored = cdn_manifest::Delta::path_for(&d3["js/app.js"], &d.dictionary, d.encoding);
        let body = fs::read(out.join(stored.trim_start_matches('/'))).unwrap();
        assert_eq!(body.len() as u64, d.size);
        assert_eq!(
            decode_delta(d.encoding, &dictionary, &body).unwrap(),
            new,
            "{stored}"
        );
        assert!(d.size * 5 < br, "{stored}: {} vs br {br}", d.size);
    }
    // Small or incompressible files are no dictionaries; a file published under its own name
    // neither.
    assert!(cdn.entries[&d3["img/logo.png"]].use_as_dictionary.is_none());
    assert!(cdn.entries["/assets/robots.txt"]
        .use_as_dictionary
        .is_none());

    // Deploy 4 with N = 3: deploy 1 falls out; its own files are gone, shared ones stay.
    site.deploy(4);
    let cdn = site.cdn();
    assert!(!cdn.entries.contains_key(&d1["js/app.js"]));
    assert!(!out.join(d1["js/app.js"].trim_start_matches('/')).exists());
    assert!(out.join(d1["css/app.css"].trim_start_matches('/')).exists());
    assert_eq!(cdn.entries[&d3["js/app.js"]].deploy, "d3");
    let ids: Vec<String> = site
        .history()
        .deploys
        .iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(ids, ["d4", "d3", "d2"]);
    // v2 (kept) loses its delta against v1 (no longer kept).
    let v2 = &cdn.entries[&v2_path];
    assert!(v2.deltas.is_empty(), "{:?}", v2.deltas);
}

#[test]
fn the_history_is_the_compression_cache() {
    let site = Site::new();
    site.deploy(1);
    // A CI build: no local cache, the history from a copy of the previous output.
    let restored = site.dir.path().join("restored");
    copy_dir(&site.out(), &restored);
    write(&site.src(), "js/app.js", app_js(2));
    let mut o = site.opts("d2", T0 + 60);
    o.cache_dir = None;
    o.history = Some(Source::Dir(restored));
    o.history_optional = false;
    let r = build(&o, &NoProgress).unwrap();
    // Only app.js (br + gzip) is compressed; every other sibling comes from the history.
    assert_eq!(r.cache_misses, 2, "{r:?}");
    assert!(r.history_hits >= 3, "{r:?}");
    assert_eq!(r.delta_computed, 2, "dcz and dcb against v1");
    // The same build with the local cache gives the same bytes.
    let ci = snapshot(&site.out());
    let mut o = site.opts("d2", T0 + 60);
    o.out = site.dir.path().join("out-warm");
    o.history = Some(Source::Dir(site.dir.path().join("restored")));
    build(&o, &NoProgress).unwrap();
    assert_eq!(snapshot(&o.out), ci);
    // Building the same deploy again from its own output reuses its deltas too.
    let r = build(&site.opts("d2", T0 + 60), &NoProgress).unwrap();
    assert_eq!((r.delta_computed, r.delta_hits), (0, 2));
    assert_eq!(r.deploys.len(), 2, "d2 replaced, d1 kept: {:?}", r.deploys);
}

#[test]
fn a_patch_like_change_gets_no_dcb() {
    let site = Site::new();
    site.deploy(1);
    // Only the version line changes: the dcz delta is a few dozen bytes.
    let src = site.src().join("js/app.js");
    let v1 = fs::read_to_string(&src).unwrap();
    fs::write(&src, v1.replace("'1.0.0'", "'1.0.1'")).unwrap();
    let r = build(&site.opts("d2", T0 + 60), &NoProgress).unwrap();
    let cdn = site.cdn();
    let app = &cdn.entries[&site.symfony()["js/app.js"]];
    let codings: Vec<DeltaEncoding> = app.deltas.iter().map(|d| d.encoding).collect();
    assert_eq!(codings, [DeltaEncoding::Zstd], "{:?}", app.deltas);
    assert!(app.deltas[0].size * 256 <= app.size);
    assert_eq!(r.delta_computed, 1);
    // Asked for dcb alone, it is made.
    let mut o = site.opts("d3", T0 + 120);
    o.deltas.encodings = vec![DeltaEncoding::Brotli];
    fs::write(&src, v1.replace("'1.0.0'", "'1.0.2'")).unwrap();
    build(&o, &NoProgress).unwrap();
    let cdn = site.cdn();
    let app = &cdn.entries[&site.symfony()["js/app.js"]];
    assert!(app
        .deltas
        .iter()
        .all(|d| d.encoding == DeltaEncoding::Brotli));
    assert!(!app.deltas.is_empty());
}

#[test]
fn keep_days_counts_from_when_a_deploy_was_replaced() {
    let site = Site::new();
    let at = |days: u64| T0 + days * DAY;
    for (n, day) in [(1, 0), (2, 10), (3, 20)] {
        write(&site.src(), "js/app.js", app_js(n));
        let mut o = site.opts(&format!("d{n}"), at(day));
        o.keep.deploys = 10;
        o.keep.days = Some(5);
        let r = build(&o, &NoProgress).unwrap();
        if n == 3 {
            // d2 was replaced just now; d1 ten days ago.
            let kept: Vec<&str> = r.deploys.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(kept, ["d3", "d2"]);
            assert_eq!(r.dropped.len(), 1);
            assert_eq!(r.dropped[0].id, "d1");
        }
    }
}

#[test]
fn deltas_can_be_turned_off_or_limited() {
    let site = Site::new();
    site.deploy(1);
    write(&site.src(), "js/app.js", app_js(2));
    let mut o = site.opts("d2", T0 + 60);
    o.deltas.encodings = vec![DeltaEncoding::Zstd];
    build(&o, &NoProgress).unwrap();
    let cdn = site.cdn();
    let app = &cdn.entries[&site.symfony()["js/app.js"]];
    assert_eq!(app.deltas.len(), 1);
    assert_eq!(app.deltas[0].encoding, DeltaEncoding::Zstd);

    let mut o = site.opts("d3", T0 + 120);
    write(&site.src(), "js/app.js", app_js(3));
    o.deltas.versions = 0;
    build(&o, &NoProgress).unwrap();
    let cdn = site.cdn();
    assert!(cdn
        .entries
        .values()
        .all(|e| e.deltas.is_empty() || e.deploy != "d3"));
    assert!(cdn
        .entries
        .values()
        .filter(|e| e.deploy == "d3")
        .all(|e| e.use_as_dictionary.is_none()));

    let mut o = site.opts("d4", T0 + 180);
    o.deltas.min_size = 1 << 20;
    build(&o, &NoProgress).unwrap();
    assert!(site
        .cdn()
        .entries
        .values()
        .filter(|e| e.deploy == "d4")
        .all(|e| e.use_as_dictionary.is_none() && e.deltas.is_empty()));
}

#[test]
fn too_many_files_is_an_error_naming_each_deploy() {
    let site = Site::new();
    site.deploy(1);
    let before = snapshot(&site.out());
    write(&site.src(), "js/app.js", app_js(2));
    let mut o = site.opts("d2", T0 + 60);
    o.max_files = 20;
    let err = build(&o, &NoProgress).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, BuildError::TooManyFiles { limit: 20, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("this deploy `d2`") && msg.contains("`d1`"),
        "{msg}"
    );
    assert!(msg.contains("--keep-deploys"), "{msg}");
    assert_eq!(snapshot(&site.out()), before, "OUT untouched");
}

/// Serves `dir` at the edge's well-known history paths on a loopback port; returns the base URL.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = line.split(' ').nth(1).unwrap_or("");
                let file = match path.strip_prefix("/.well-known/asset-history/") {
                    Some("history.json") => Some(dir.join("asset-history.json")),
                    Some(rest) => rest
                        .strip_prefix("files/")
                        .map(|p| dir.join(percent_decode(p))),
                    None => None,
                };
                let mut stream = stream;
                let (status, body) = match file.and_then(|f| fs::read(f).ok()) {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let rel = e.path().strip_prefix(from).unwrap();
        if e.file_type().is_dir() {
            fs::create_dir_all(to.join(rel)).unwrap();
        } else {
            fs::copy(e.path(), to.join(rel)).unwrap();
        }
    }
}

#[test]
fn a_history_by_url_gives_the_same_output_as_by_directory() {
    let site = Site::new();
    site.deploy(1);
    site.deploy(2);
    let live = site.dir.path().join("live");
    copy_dir(&site.out(), &live);
    write(&site.src(), "js/app.js", app_js(3));
    let mut by_dir = site.opts("d3", T0 + 180);
    by_dir.history = Some(Source::Dir(live.clone()));
    by_dir.history_optional = false;
    by_dir.out = site.dir.path().join("by-dir");
    by_dir.cache_dir = None;
    build(&by_dir, &NoProgress).unwrap();
    let mut by_url = by_dir.clone();
    by_url.history = Some(Source::parse(&serve(live)));
    by_url.out = site.dir.path().join("by-url");
    let r = build(&by_url, &NoProgress).unwrap();
    assert!(r.carried_files > 5, "{r:?}");
    assert_eq!(snapshot(&by_url.out), snapshot(&by_dir.out));
    assert!(snapshot(&by_url.out)
        .keys()
        .all(|k| !k.contains("downloads")));
    let leftovers: Vec<_> = fs::read_dir(site.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Runs the CLI; returns (exit code, stderr).
fn exit_and_stderr(args: &[&str]) -> (i32, String) {
    let out = cli().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_or_unreachable_history_is_refused_naming_what_and_where() {
    let site = Site::new();
    site.deploy(1);
    site.deploy(2);
    let good = site.dir.path().join("good");
    copy_dir(&site.out(), &good);
    let cdn = site.cdn();
    let old_app = cdn
        .entries
        .iter()
        .find(|(_, e)| e.deploy == "d1" && e.logical_path == "js/app.js")
        .unwrap()
        .0
        .trim_start_matches('/')
        .to_string();
    type Corrupt = fn(&Path, &str);
    let cases: &[(&str, Corrupt, &[&str])] = &[
        (
            "wrong hash",
            |d, f| {
                let mut b = fs::read(d.join(f)).unwrap();
                b[10] ^= 1;
                fs::write(d.join(f), b).unwrap();
            },
            &["SHA-256 is", "the history records"],
        ),
        (
            "truncated",
            |d, f| {
                let b = fs::read(d.join(f)).unwrap();
                fs::write(d.join(f), &b[..b.len() / 2]).unwrap();
            },
            &["truncated"],
        ),
        (
            "missing file",
            |d, f| fs::remove_file(d.join(f)).unwrap(),
            &["missing"],
        ),
        (
            "unknown version",
            |d, _| {
                let p = d.join("asset-history.json");
                let s =
                    fs::read_to_string(&p)
                        .unwrap()
                        .replacen("\"version\": 1", "\"version\": 9", 1);
                fs::write(p, s).unwrap();
            },
            &["is refused", "version 9"],
        ),
        (
            "bad json",
            |d, _| {
                fs::write(
                    d.join("asset-history.json"),
                    "{\"format\": \"asset-history\", \"version\": 1, ",
                )
                .unwrap()
            },
            &["is refused", "not a valid history"],
        ),
        (
            "no history",
            |d, _| fs::remove_file(d.join("asset-history.json")).unwrap(),
            &["no deploy history at", "--history-optional"],
        ),
    ];
    let out = site.out();
    let src = site.src();
    let before = snapshot(&out);
    write(&src, "js/app.js", app_js(3));
    for (name, corrupt, want) in cases {
        let dir = site
            .dir
            .path()
            .join(format!("bad-{}", name.replace(' ', "-")));
        copy_dir(&good, &dir);
        corrupt(&dir, &old_app);
        for source in [dir.to_string_lossy().into_owned(), serve(dir.clone())] {
            let args = [
                "build",
                src.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--history",
                &source,
                "--deploy-id",
                "d3",
                "--no-fingerprint",
                "robots.txt",
            ];
            let (code, stderr) = exit_and_stderr(&args);
            assert_eq!(code, 1, "{name}: {stderr}");
            assert!(
                stderr.starts_with("asset-builder: error: "),
                "{name}: {stderr}"
            );
            for w in *want {
                assert!(
                    stderr.contains(w),
                    "{name} via {source}: want `{w}` in {stderr}"
                );
            }
            assert!(
                stderr.contains(&source) || stderr.contains(&old_app),
                "{name}: names where: {stderr}"
            );
            assert_eq!(snapshot(&out), before, "{name}: OUT untouched");

            // --history-optional: a warning, and a build that keeps only itself.
            let mut optional = args.to_vec();
            optional.extend(["--history-optional", "--quiet", "--report", "-"]);
            let o = cli().args(&optional).output().unwrap();
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(report["deploys"].as_array().unwrap().len(), 1, "{name}");
            assert!(
                report["warnings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| w["kind"] == "history_ignored"),
                "{name}: {report}"
            );
            assert!(
                !out.join(&old_app).exists(),
                "{name}: claims nothing it lacks"
            );
            // Back to deploy 2 for the next case.
            fs::remove_dir_all(&out).unwrap();
            copy_dir(&good, &out);
        }
    }
    // An unreachable site.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, stderr) = exit_and_stderr(&[
        "build",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--history",
        &url,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot read the deploy history at") && stderr.contains(&url),
        "{stderr}"
    );
}

#[test]
fn a_history_for_another_public_path_is_refused() {
    let site = Site::new();
    site.deploy(1);
    let mut o = site.opts("d2", T0 + 60);
    o.public_path = "/static/".into();
    o.history_optional = false;
    let err = build(&o, &NoProgress).unwrap_err().to_string();
    assert!(
        err.contains("/assets/") && err.contains("/static/"),
        "{err}"
    );
}

#[test]
fn help_documents_every_history_option() {
    let out = cli().args(["build", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--history <SOURCE>",
        "--history-optional",
        "--keep-deploys <N>",
        "--keep-days <D>",
        "--deploy-id <ID>",
        "--delta-versions <K>",
        "--delta-min-size <BYTES>",
        "--delta-codings <LIST>",
        "--max-files <N>",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help:\n{help}");
    }
}
