//! End-to-end tests of the library and the CLI on fixture trees.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use asset_builder::report::NoProgress;
use asset_builder::{build, BuildError, Options, Warning};
use cdn_manifest::{Encoding, Manifest};
use common::{cli, decompress, snapshot, write};

/// A temp dir with `src/` holding a small app and room for `out/` and a cache.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let s = f.src();
        let css_body = "body { color: #333; margin: 0 auto; padding: 1rem; }\n".repeat(40);
        write(&s, "css/app.css", format!(
            "@import \"base.css\";\n.a{{background:url(../img/logo.svg)}}\n\
             @font-face{{src:url('../fonts/f.woff2?v=4.7') format('woff2'),url(\"../fonts/f.ttf#iefix\") format('truetype')}}\n\
             .b{{background:url(data:image/png;base64,AAAA)}} .c{{background:url(https://cdn.test/x.png)}} .d{{background:url(//cdn.test/y.png)}}\n\
             {css_body}/*# sourceMappingURL=app.css.map */\n"
        ));
        write(
            &s,
            "css/base.css",
            "html{font-family:sans-serif}\n".repeat(30),
        );
        write(
            &s,
            "css/app.css.map",
            r#"{"version":3,"sources":["app.scss"],"mappings":"AAAA"}"#,
        );
        write(
            &s,
            "img/logo.svg",
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\">{}</svg>",
                "<rect width=\"1\" height=\"1\"/>".repeat(30)
            ),
        );
        write(&s, "fonts/f.woff2", b"wOF2\x00\x01binary-font-data");
        write(&s, "fonts/f.ttf", [0u8, 1, 0, 0].repeat(200));
        write(&s, "js/app.js", "import { a } from './lib/a.js';\nimport \"./lib/side.js\";\nexport * from '../js/lib/b.js';\nimport x from 'bare-package';\nconst m = () => import('./lib/lazy.js');\nconsole.log(a, m, x);\n//# sourceMappingURL=app.js.map\n");
        write(
            &s,
            "js/app.js.map",
            r#"{"version":3,"sources":["app.ts"],"mappings":"AAAA"}"#,
        );
        write(&s, "js/lib/a.js", "export const a = 1;\n");
        write(&s, "js/lib/b.js", "export const b = 2;\n");
        write(&s, "js/lib/side.js", "window.side = true;\n");
        write(&s, "js/lib/lazy.js", "export default 'lazy';\n");
        write(
            &s,
            "vendor/pkg-1a2b3c4d.digested.js",
            "console.log('already digested');\n",
        );
        f
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
        // A fixed deploy date (and so id): the same input then gives the same bytes.
        o.deploy_time = Some(1_764_244_800);
        o
    }
    fn build(&self) -> asset_builder::Report {
        build(&self.opts(), &NoProgress).unwrap()
    }
    fn symfony(&self) -> BTreeMap<String, String> {
        serde_json::from_slice(&fs::read(self.out().join("manifest.json")).unwrap()).unwrap()
    }
    fn cdn(&self) -> Manifest {
        Manifest::from_json(&fs::read(self.out().join("cdn-manifest.json")).unwrap()).unwrap()
    }
    /// The published file for a logical path.
    fn published(&self, logical: &str) -> PathBuf {
        let url = &self.symfony()[logical];
        self.out().join(url.trim_start_matches('/'))
    }
    fn text(&self, logical: &str) -> String {
        fs::read_to_string(self.published(logical)).unwrap()
    }
}

fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[test]
fn publishes_every_file_under_a_content_hash_of_its_final_bytes() {
    let f = Fixture::new();
    let report = f.build();
    let symfony = f.symfony();
    assert_eq!(symfony.len(), 13);
    assert_eq!(report.files, 13);
    for (logical, url) in &symfony {
        assert!(url.starts_with("/assets/"), "{url}");
        let bytes = fs::read(f.out().join(url.trim_start_matches('/'))).unwrap();
        if logical.contains(".digested.") {
            assert_eq!(
                url,
                &format!("/assets/{logical}"),
                "pre-digested names are kept"
            );
            continue;
        }
        let digest = asset_builder::fingerprint::sha256(&bytes);
        let hash = asset_builder::fingerprint::name_hash(&digest);
        let expected = asset_builder::fingerprint::fingerprinted_name(name_of(logical), &hash);
        assert_eq!(name_of(url), expected, "{logical}: hash of the final bytes");
        assert!(hash.len() >= 8 && hash.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}

#[test]
fn rewrites_css_js_and_source_map_references_keeping_query_and_fragment() {
    let f = Fixture::new();
    f.build();
    let m = f.symfony();
    let css = f.text("css/app.css");
    let base = name_of(&m["css/base.css"]);
    assert!(css.contains(&format!("@import \"{base}\";")), "{css}");
    assert!(css.contains(&format!("url(../img/{})", name_of(&m["img/logo.svg"]))));
    assert!(css.contains(&format!(
        "url('../fonts/{}?v=4.7')",
        name_of(&m["fonts/f.woff2"])
    )));
    assert!(css.contains(&format!(
        "url(\"../fonts/{}#iefix\")",
        name_of(&m["fonts/f.ttf"])
    )));
    assert!(css.contains("url(data:image/png;base64,AAAA)"));
    assert!(css.contains("url(https://cdn.test/x.png)"));
    assert!(css.contains("url(//cdn.test/y.png)"));
    assert!(css.contains(&format!(
        "/*# sourceMappingURL={} */",
        name_of(&m["css/app.css.map"])
    )));

    let js = f.text("js/app.js");
    assert!(
        js.contains(&format!("from './lib/{}'", name_of(&m["js/lib/a.js"]))),
        "{js}"
    );
    assert!(js.contains(&format!(
        "import \"./lib/{}\"",
        name_of(&m["js/lib/side.js"])
    )));
    assert!(js.contains(&format!("from '../js/lib/{}'", name_of(&m["js/lib/b.js"]))));
    assert!(js.contains(&format!(
        "import('./lib/{}')",
        name_of(&m["js/lib/lazy.js"])
    )));
    assert!(
        js.contains("from 'bare-package'"),
        "bare specifiers belong to the import map"
    );
    assert!(js.contains(&format!(
        "//# sourceMappingURL={}",
        name_of(&m["js/app.js.map"])
    )));
}

#[test]
fn a_changed_image_changes_the_css_that_references_it_and_nothing_else() {
    let f = Fixture::new();
    f.build();
    let before = f.symfony();
    write(
        &f.src(),
        "img/logo.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"2\"/></svg>",
    );
    let report = f.build();
    let after = f.symfony();
    assert_ne!(before["img/logo.svg"], after["img/logo.svg"]);
    assert_ne!(
        before["css/app.css"], after["css/app.css"],
        "hash follows rewritten bytes"
    );
    for unchanged in [
        "css/base.css",
        "js/app.js",
        "fonts/f.ttf",
        "css/app.css.map",
    ] {
        assert_eq!(before[unchanged], after[unchanged], "{unchanged}");
    }
    // Only app.css and logo.svg were recompressed (two encodings each).
    assert_eq!(report.cache_misses, 4, "{report:?}");
}

#[test]
fn precompressed_siblings_decompress_to_the_published_bytes() {
    let f = Fixture::new();
    f.build();
    let cdn = f.cdn();
    let mut seen = 0;
    for (path, entry) in &cdn.entries {
        let file = f.out().join(path.trim_start_matches('/'));
        let identity = fs::read(&file).unwrap();
        assert_eq!(identity.len() as u64, entry.size);
        assert_eq!(
            entry.integrity,
            asset_builder::fingerprint::integrity(&identity)
        );
        for (enc, rep) in &entry.encodings {
            let packed = fs::read(format!("{}{}", file.display(), enc.suffix())).unwrap();
            assert_eq!(packed.len() as u64, rep.size);
            assert_ne!(
                rep.etag, entry.etag,
                "each representation has its own validator"
            );
            assert_eq!(decompress(*enc, &packed), identity, "{path} {enc:?}");
            seen += 1;
        }
        for enc in Encoding::ALL {
            if !entry.encodings.contains_key(&enc) {
                assert!(!Path::new(&format!("{}{}", file.display(), enc.suffix())).exists());
            }
        }
    }
    assert!(seen >= 8, "compressible fixtures got siblings ({seen})");
    let woff2 = cdn
        .entries
        .values()
        .find(|e| e.logical_path == "fonts/f.woff2")
        .unwrap();
    assert!(woff2.encodings.is_empty(), "woff2 is already compressed");
    let css = cdn
        .entries
        .values()
        .find(|e| e.logical_path == "css/app.css")
        .unwrap();
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    assert!(css.immutable);
    assert!(css.etag.starts_with('"') && css.etag.ends_with('"'));
}

#[test]
fn identical_input_gives_byte_identical_output() {
    let f = Fixture::new();
    f.build();
    let first = snapshot(&f.out());
    let mut o = f.opts();
    o.out = f.dir.path().join("out2");
    o.cache_dir = None;
    build(&o, &NoProgress).unwrap();
    assert_eq!(
        snapshot(&o.out),
        first,
        "cold, uncached build equals the cached one"
    );
    let report = f.build();
    assert_eq!(
        report.cache_misses, 0,
        "warm build reuses every compression"
    );
    assert_eq!(snapshot(&f.out()), first);
}

#[test]
fn reference_cycles_are_fingerprinted_together() {
    let f = Fixture::new();
    write(
        &f.src(),
        "js/cyc/a.js",
        "import { b } from './b.js';\nexport const a = () => b;\n",
    );
    write(
        &f.src(),
        "js/cyc/b.js",
        "import { a } from './a.js';\nexport const b = () => a;\n",
    );
    let report = f.build();
    assert!(report
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::ReferenceCycle { files } if files.len() == 2)));
    let m = f.symfony();
    assert!(f.text("js/cyc/a.js").contains(name_of(&m["js/cyc/b.js"])));
    assert!(f.text("js/cyc/b.js").contains(name_of(&m["js/cyc/a.js"])));
    // Changing one member renames both.
    write(
        &f.src(),
        "js/cyc/b.js",
        "import { a } from './a.js';\nexport const b = () => a + 1;\n",
    );
    f.build();
    let m2 = f.symfony();
    assert_ne!(m["js/cyc/a.js"], m2["js/cyc/a.js"]);
    assert_ne!(m["js/cyc/b.js"], m2["js/cyc/b.js"]);
}

#[test]
fn missing_references_warn_or_fail_in_strict_mode_leaving_out_untouched() {
    let f = Fixture::new();
    write(
        &f.src(),
        "css/broken.css",
        ".x{background:url(../img/nope.png)}",
    );
    let report = f.build();
    assert!(report.warnings.contains(&Warning::MissingReference {
        file: "css/broken.css".into(),
        reference: "../img/nope.png".into()
    }));
    assert!(
        f.text("css/broken.css").contains("url(../img/nope.png)"),
        "left as written"
    );
    let before = snapshot(&f.out());

    write(
        &f.src(),
        "css/broken.css",
        ".x{background:url(../img/nope2.png)}",
    );
    let mut o = f.opts();
    o.strict = true;
    let err = build(&o, &NoProgress).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("css/broken.css") && msg.contains("../img/nope2.png"),
        "{msg}"
    );
    assert_eq!(
        snapshot(&f.out()),
        before,
        "a failed build leaves OUT byte-identical"
    );
}

#[test]
fn bad_input_is_a_clear_error_and_out_is_untouched() {
    let f = Fixture::new();
    f.build();
    let before = snapshot(&f.out());

    std::os::unix::fs::symlink("/etc", f.src().join("etc")).unwrap();
    let err = build(&f.opts(), &NoProgress).unwrap_err();
    assert!(matches!(err, BuildError::SymlinkOutside { .. }), "{err}");
    assert!(err.to_string().contains("etc"));
    fs::remove_file(f.src().join("etc")).unwrap();

    let big = fs::File::create(f.src().join("huge.txt")).unwrap();
    big.set_len(25 * 1024 * 1024 + 1).unwrap();
    let err = build(&f.opts(), &NoProgress).unwrap_err();
    assert!(
        err.to_string().contains("huge.txt") && err.to_string().contains("limit"),
        "{err}"
    );
    fs::remove_file(f.src().join("huge.txt")).unwrap();

    // A directory that is not ours is never replaced.
    let mut o = f.opts();
    o.out = f.src().join("css");
    assert!(build(&o, &NoProgress).is_err());
    let foreign = f.dir.path().join("public");
    write(&foreign, "index.php", "<?php");
    o.out = foreign.clone();
    let err = build(&o, &NoProgress).unwrap_err();
    assert!(matches!(err, BuildError::ForeignOutput(_)), "{err}");
    assert!(foreign.join("index.php").exists());

    assert_eq!(snapshot(&f.out()), before);
}

#[test]
fn no_fingerprint_globs_keep_names_and_are_not_immutable() {
    let f = Fixture::new();
    write(&f.src(), "robots.txt", "User-agent: *\n");
    let mut o = f.opts();
    o.no_fingerprint = vec!["robots.txt".into()];
    build(&o, &NoProgress).unwrap();
    assert_eq!(f.symfony()["robots.txt"], "/assets/robots.txt");
    let cdn = f.cdn();
    assert!(!cdn.entries["/assets/robots.txt"].immutable);
}

#[test]
fn public_path_and_base_url_shape_the_urls() {
    let f = Fixture::new();
    let mut o = f.opts();
    o.public_path = "/static/v2/".into();
    o.base_url = Some("https://cdn.example.com/".into());
    build(&o, &NoProgress).unwrap();
    let m = f.symfony();
    assert!(
        m["css/app.css"].starts_with("https://cdn.example.com/static/v2/css/app-"),
        "{}",
        m["css/app.css"]
    );
    let cdn = f.cdn();
    assert_eq!(cdn.public_path, "/static/v2/");
    for path in cdn.entries.keys() {
        assert!(
            f.out().join(path.trim_start_matches('/')).is_file(),
            "{path}"
        );
    }
}

#[test]
fn names_needing_encoding_are_encoded_in_urls() {
    let f = Fixture::new();
    write(
        &f.src(),
        "img/my logo é.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    write(
        &f.src(),
        "css/enc.css",
        ".x{background:url(\"../img/my%20logo%20%C3%A9.svg\")}",
    );
    f.build();
    let m = f.symfony();
    let url = &m["img/my logo é.svg"];
    assert!(url.starts_with("/assets/img/my%20logo%20%C3%A9-"), "{url}");
    let css = f.text("css/enc.css");
    assert!(css.contains(&format!("../img/{}", name_of(url))), "{css}");
    let cdn = f.cdn();
    assert!(
        cdn.entries
            .keys()
            .any(|k| k.starts_with("/assets/img/my logo é-")),
        "CDN keys are decoded paths"
    );
}

// ---- the CLI ----

#[test]
fn cli_help_lists_every_option() {
    let out = cli().args(["build", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--out",
        "--public-path",
        "--base-url",
        "--strict",
        "--no-fingerprint",
        "--cache-dir",
        "--no-cache",
        "--jobs",
        "--report",
        "--quiet",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help");
    }
}

#[test]
fn cli_builds_and_writes_a_machine_readable_report() {
    let f = Fixture::new();
    let report = f.dir.path().join("report.json");
    let out = cli()
        .arg("build")
        .arg(f.src())
        .arg("--out")
        .arg(f.out())
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("built 13 files"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&fs::read(report).unwrap()).unwrap();
    assert_eq!(json["files"], 13);
    assert!(json["bytes"]["br"].as_u64().unwrap() < json["bytes"]["identity"].as_u64().unwrap());
}

#[test]
fn cli_failures_exit_non_zero_naming_the_cause() {
    let d = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "build".into(),
                d.path().join("missing").display().to_string(),
                "--out".into(),
                d.path().join("o").display().to_string(),
            ],
            "does not exist",
        ),
        (
            vec![
                "build".into(),
                d.path().display().to_string(),
                "--out".into(),
                "/tmp/asset-builder-test-o".into(),
            ],
            "contains no files",
        ),
        (
            vec![
                "build".into(),
                "x".into(),
                "--out".into(),
                "y".into(),
                "--public-path".into(),
                "assets".into(),
            ],
            "--public-path",
        ),
        (
            vec![
                "build".into(),
                "x".into(),
                "--out".into(),
                "y".into(),
                "--jobs".into(),
                "0".into(),
            ],
            "--jobs",
        ),
    ];
    for (args, needle) in cases {
        let out = cli().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_killed_build_leaves_either_the_old_or_the_new_output_never_a_mix() {
    let f = Fixture::new();
    f.build();
    let before = snapshot(&f.out());
    // Enough brotli-11 work to be killed in the middle.
    let text: String = (0..60_000)
        .map(|i| format!(".c{i}{{color:#{:06x}}}\n", i * 7919 % 0xffffff))
        .collect();
    for i in 0..4 {
        write(&f.src(), &format!("css/big{i}.css"), &text);
    }
    let mut child = cli()
        .arg("build")
        .arg(f.src())
        .arg("--out")
        .arg(f.out())
        .arg("--no-cache")
        .arg("--quiet")
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let after = snapshot(&f.out());
    let old = after == before;
    let new = after.len() > before.len() && after.keys().filter(|k| k.contains("big")).count() >= 4;
    assert!(old || new, "output is a mix of two builds");
    // The next build recovers from the leftovers.
    f.build();
    assert!(f.symfony().contains_key("css/big0.css"));
}
