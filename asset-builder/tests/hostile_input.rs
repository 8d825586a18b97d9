//! Regression tests for the audit and fuzz findings of issue 9, each with the minimal input
//! found: the builder never panics, never misses a reference silently, never respells one it
//! does not mean to change, and never writes one output file twice.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use asset_builder::report::NoProgress;
use asset_builder::{build, BuildError, Options, Report, Warning};
use common::{snapshot, write};

/// A temp dir with `src/`, room for `out/` and a cache.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Self {
        let t = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        for (rel, text) in files {
            write(&t.src(), rel, text);
        }
        t
    }
    fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn opts(&self) -> Options {
        let mut o = Options::new(self.src(), self.out());
        o.cache_dir = Some(self.dir.path().join("cache"));
        o
    }
    fn build(&self, opts: &Options) -> Result<Report, BuildError> {
        build(opts, &NoProgress)
    }
    fn symfony(&self) -> BTreeMap<String, String> {
        serde_json::from_slice(&fs::read(self.out().join("manifest.json")).unwrap()).unwrap()
    }
    /// The published bytes of a logical path.
    fn published(&self, logical: &str) -> String {
        let url = &self.symfony()[logical];
        fs::read_to_string(self.out().join(url.trim_start_matches('/'))).unwrap()
    }
    fn name(&self, logical: &str) -> String {
        self.symfony()[logical]
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    }
    /// Every file under OUT.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot(&self.out())
    }
    /// Builds a first, good tree into OUT, so a failing build can be shown to leave it.
    fn previous_output(&self) -> BTreeMap<String, Vec<u8>> {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "ok.txt", "fine");
        let mut o = self.opts();
        o.src = d.path().to_path_buf();
        build(&o, &NoProgress).unwrap();
        self.snapshot()
    }
}

fn compressible(n: usize) -> String {
    format!(
        "[{}]",
        (0..n)
            .map(|i| format!("{{\"id\":{i},\"name\":\"item\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn cli(args: &[&std::ffi::OsStr]) -> std::process::Output {
    common::cli().args(args).output().unwrap()
}

// ---- 1. a sibling never overwrites a published file ----

#[test]
fn a_gz_sibling_never_overwrites_a_published_file() {
    let t = Tree::new(&[
        ("static/data.json", &compressible(200)),
        ("static/data.json.gz", "not the gzip of data.json"),
    ]);
    let before = t.previous_output();
    let mut o = t.opts();
    o.no_fingerprint = vec!["static/**".into()];
    let err = t.build(&o).unwrap_err();
    assert!(matches!(err, BuildError::OutputConflict { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("source file `static/data.json.gz`")
            && msg.contains("the gzip sibling of `static/data.json`")
            && msg.contains("assets/static/data.json.gz"),
        "{msg}"
    );
    assert_eq!(t.snapshot(), before, "OUT untouched");
}

// ---- 2. a regex after `)` or `}`; nothing missed silently ----

#[test]
fn an_import_after_a_regex_after_a_control_paren_is_rewritten() {
    let t = Tree::new(&[
        ("a.js", "if (x) /'/.test(s); import(\"./b.js\")\n"),
        ("b.js", "export default 1;\n"),
    ]);
    let mut o = t.opts();
    o.strict = true;
    let report = t.build(&o).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let b = t.name("b.js");
    assert!(b.starts_with("b-"), "{b}");
    assert_eq!(
        t.published("a.js"),
        format!("if (x) /'/.test(s); import(\"./{b}\")\n")
    );
}

#[test]
fn a_reference_the_scanner_cannot_classify_warns_or_fails_in_strict_mode() {
    // `f(x) / …` divides, so the `'` opens a string that never ends: the scanner has lost
    // track on a line that mentions an import.
    let lost = "f(x) /'/.test(s); import('./b.js')\n";
    let cases = [
        ("lost.js", lost, 1),
        (
            "dyn.js",
            "export const load = (l) => import(`./${l}.js`);\n",
            1,
        ),
        ("concat.js", "\n\nimport('./locale/' + lang);\n", 3),
        ("esc.css", ".a{background:url('../img/a\\'b.png')}\n", 1),
    ];
    for (file, text, line) in cases {
        let t = Tree::new(&[(file, text), ("b.js", "export default 1;\n")]);
        let report = t.build(&t.opts()).unwrap();
        assert!(
            report.warnings.iter().any(|w| matches!(w,
                Warning::UnclassifiedReference { file: f, line: l, .. } if f == file && *l == line)),
            "{file}: {:?}",
            report.warnings
        );
        let before = t.snapshot();
        let mut o = t.opts();
        o.strict = true;
        let err = t.build(&o).unwrap_err();
        assert!(
            matches!(&err, BuildError::UnclassifiedReference { file: f, .. } if f == file),
            "{file}: {err}"
        );
        assert!(
            err.to_string().contains(&format!("{file}:{line}:")),
            "{err}"
        );
        assert_eq!(t.snapshot(), before);
    }
}

// ---- 3. new URL(…, import.meta.url) ----

#[test]
fn new_url_relative_to_the_module_is_rewritten_like_an_import() {
    let t = Tree::new(&[
        (
            "js/app.js",
            "const icon = new URL('../img/x.png', import.meta.url);\n\
             const other = new URL('../img/x.png', document.baseURI);\n",
        ),
        ("img/x.png", "\u{89}PNG fake"),
    ]);
    let mut o = t.opts();
    o.strict = true;
    t.build(&o).unwrap();
    let x = t.name("img/x.png");
    assert_eq!(
        t.published("js/app.js"),
        format!(
            "const icon = new URL('../img/{x}', import.meta.url);\n\
             const other = new URL('../img/x.png', document.baseURI);\n"
        )
    );
    let t = Tree::new(&[("a.js", "new URL('./gone.png', import.meta.url)")]);
    let mut o = t.opts();
    o.strict = true;
    let err = t.build(&o).unwrap_err();
    assert!(err.to_string().contains("./gone.png"), "{err}");
}

// ---- 4. a comment inside a dynamic import ----

#[test]
fn a_comment_inside_a_dynamic_import_is_no_panic() {
    let t = Tree::new(&[
        ("a.js", "import(\"./b.js\" /*# sourceMappingURL=b.map */)\n"),
        ("b.js", "export default 1;\n"),
        ("b.map", "{\"version\":3}"),
        ("c.js", "import(''//# sourceMappingURL=x\n)\n"),
        ("x", "map"),
    ]);
    let out = cli(&[
        "build".as_ref(),
        t.src().as_os_str(),
        "--out".as_ref(),
        t.out().as_os_str(),
        "--no-cache".as_ref(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (b, map, x) = (t.name("b.js"), t.name("b.map"), t.name("x"));
    assert_eq!(
        t.published("a.js"),
        format!("import(\"./{b}\" /*# sourceMappingURL={map} */)\n")
    );
    assert_eq!(
        t.published("c.js"),
        format!("import(''//# sourceMappingURL={x}\n)\n")
    );
}

// ---- 5. the resolved path and the rewritten text come from one parse ----

const AUDIT_CSS: &str = ".a{background:url(img/x.png/.)}\n\
                         .b{background:url(img/x.png/sub/..)}\n\
                         .c{background:url(img%2Fx.png)}\n\
                         .d{background:url(a%20b.pn%67)}\n\
                         .e{background:url(a%2epng)}\n\
                         .f{background:url(%ca/%41)}\n";

fn audit_tree() -> Tree {
    Tree::new(&[
        ("css/app.css", AUDIT_CSS),
        ("css/img/x.png", "png x"),
        ("css/img/x.png.d/keep", "so img/ has more"),
        ("css/a b.png", "png a b"),
        ("css/a.png", "png a"),
        ("css/%ca/%41", "a file literally named %41"),
    ])
}

#[test]
fn keeping_every_name_rewrites_nothing() {
    let t = audit_tree();
    let mut o = t.opts();
    o.no_fingerprint = vec!["**".into()];
    let report = t.build(&o).unwrap();
    assert_eq!(
        t.published("css/app.css"),
        AUDIT_CSS,
        "not one byte changed"
    );
    let missing: Vec<&str> = report
        .warnings
        .iter()
        .filter_map(|w| match w {
            Warning::MissingReference { reference, .. } => Some(reference.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        missing,
        ["img/x.png/.", "img/x.png/sub/..", "img%2Fx.png", "%ca/%41"],
        "directories, encoded slashes and non-UTF-8 escapes name no file"
    );
}

#[test]
fn fingerprinting_changes_only_the_names_and_keeps_the_spelling() {
    let t = audit_tree();
    t.build(&t.opts()).unwrap();
    let ab = t.name("css/a b.png");
    let a = t.name("css/a.png");
    let hash_ab = ab
        .strip_prefix("a%20b-")
        .unwrap()
        .strip_suffix(".png")
        .unwrap();
    let hash_a = a.strip_prefix("a-").unwrap().strip_suffix(".png").unwrap();
    let want = AUDIT_CSS
        .replace("url(a%20b.pn%67)", &format!("url(a%20b-{hash_ab}.pn%67)"))
        .replace("url(a%2epng)", &format!("url(a-{hash_a}%2epng)"));
    assert_eq!(t.published("css/app.css"), want);
}

// ---- 6. no output file is written twice ----

#[test]
fn a_sibling_of_a_digested_file_never_overwrites_its_namesake() {
    let t = Tree::new(&[
        ("vendor/app-abcdef1.digested.js", &compressible(200)),
        ("vendor/app-abcdef1.digested.js.gz", "hand-made gzip"),
    ]);
    let before = t.previous_output();
    let err = t.build(&t.opts()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("source file `vendor/app-abcdef1.digested.js.gz`")
            && msg.contains("the gzip sibling of `vendor/app-abcdef1.digested.js`"),
        "{msg}"
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_source_manifest_json_at_the_root_never_overwrites_symfonys() {
    let t = Tree::new(&[
        ("manifest.json", "{\"name\":\"my app\"}"),
        ("app.css", "body{}"),
    ]);
    let before = t.previous_output();
    let mut o = t.opts();
    o.public_path = "/".into();
    o.no_fingerprint = vec!["manifest.json".into()];
    let err = t.build(&o).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("source file `manifest.json`")
            && msg.contains("Symfony's manifest")
            && msg.contains("`manifest.json`"),
        "{msg}"
    );
    assert_eq!(t.snapshot(), before);

    // Every builder file is claimed, and so are directories.
    for (file, builder) in [
        ("cdn-manifest.json", "the CDN manifest"),
        ("cdn-manifest.bin", "the CDN manifest index"),
        ("cdn-manifest-0.bin", "a CDN manifest index shard"),
        (".assetsignore", "the .assetsignore file"),
        ("manifest.json/inside.txt", "Symfony's manifest"),
    ] {
        let t = Tree::new(&[(file, "x")]);
        let mut o = t.opts();
        o.public_path = "/".into();
        o.no_fingerprint = vec!["**".into()];
        let msg = t.build(&o).unwrap_err().to_string();
        assert!(msg.contains(builder), "{file}: {msg}");
    }
    // Fingerprinted, the same names are harmless.
    let t = Tree::new(&[("manifest.json", "{}")]);
    let mut o = t.opts();
    o.public_path = "/".into();
    t.build(&o).unwrap();
    assert!(t.symfony()["manifest.json"].starts_with("/manifest-"));
}

// ---- 9. --jobs reaches the library and runs in the build's own pool ----

#[test]
fn jobs_use_a_pool_of_the_build_and_give_the_same_output() {
    let t = Tree::new(&[
        (
            "a.css",
            &format!("@import 'b.css';{}", "a{color:red}".repeat(50)),
        ),
        ("b.css", &"b{color:blue}".repeat(50)),
    ]);
    let mut snapshots = Vec::new();
    for jobs in [Some(1), Some(3), None, Some(1)] {
        let mut o = t.opts();
        o.jobs = jobs;
        o.cache_dir = None;
        // The history records the deploy's time: pinned, so that builds a second apart compare.
        o.deploy_time = Some(1_800_000_000);
        t.build(&o).unwrap();
        snapshots.push(t.snapshot());
    }
    assert!(snapshots.windows(2).all(|w| w[0] == w[1]));
    let mut o = t.opts();
    o.jobs = Some(0);
    let err = t.build(&o).unwrap_err();
    assert!(err.to_string().contains("--jobs"), "{err}");

    // The work runs on the build's own threads, as many as asked for.
    for jobs in [1, 2] {
        let seen = Threads::default();
        let mut o = t.opts();
        o.jobs = Some(jobs);
        o.cache_dir = None;
        build(&o, &seen).unwrap();
        let names = seen.0.into_inner().unwrap();
        assert!(!names.is_empty());
        let allowed: Vec<String> = (0..jobs).map(|i| format!("asset-builder-{i}")).collect();
        assert!(
            names.iter().all(|n| allowed.contains(n)),
            "{jobs} jobs ran on {names:?}"
        );
    }
}

/// Progress that records the names of the threads reporting it.
#[derive(Default)]
struct Threads(std::sync::Mutex<std::collections::BTreeSet<String>>);

impl asset_builder::Progress for Threads {
    fn advance(&self, _n: u64) {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        self.0.lock().unwrap().insert(name);
    }
}
