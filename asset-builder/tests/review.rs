//! `asset-builder build` against hostile options, trees and histories: what an adversarial
//! review found (each test failed before its fix).

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{snapshot, write};

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = common::cli();
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

/// `asset-builder build SRC --out OUT --no-cache -q` and `extra`.
fn build(src: &Path, out: &Path, extra: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = common::cli();
    c.args([
        "build".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    c.args(["--no-cache", "-q"]);
    for a in extra {
        c.arg(a);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// README: `--public-path PATH` is accepted with `/` (and the builder refuses only its own files
/// landing on a published path under it), and "`--history SOURCE` … a previous output
/// directory". A build with `--public-path /` writes a history with `"public_path": "/"`, which the
/// next build used to refuse as "not a plain path like /assets/": `--history` never worked with `/`.
#[test]
fn a_history_written_with_public_path_root_is_read_by_the_next_build() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "app.css", "body{color:red}");
    let first = build(&src, &out, &[&"--public-path", &"/", &"--deploy-id", &"d1"]);
    assert!(first.status.success(), "{}", stderr(&first));
    write(&src, "app.css", "body{color:blue}");
    let second = build(
        &src,
        &out,
        &[
            &"--public-path",
            &"/",
            &"--deploy-id",
            &"d2",
            &"--history",
            &out,
        ],
    );
    assert!(
        second.status.success(),
        "the builder refuses the history it wrote itself: {}",
        stderr(&second)
    );
    let history = fs::read_to_string(out.join("asset-history.json")).unwrap();
    assert!(
        history.contains("\"d1\"") && history.contains("\"d2\""),
        "{history}"
    );
}

/// README: "Exit status 0 on success; 1 …", "Atomic … a failed … build leaves the previous OUT
/// byte-identical". With `--report` naming a path that cannot be written, the build used to swap
/// the new OUT in and only then fail with exit 1: the caller was told the build failed while OUT
/// was replaced (a deploy script that stops on the failure leaves a new OUT it never checked).
#[test]
fn a_failing_report_leaves_the_previous_output_untouched() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "a.txt", "one");
    let first = build(&src, &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = snapshot(&out);
    write(&src, "a.txt", "two");
    let bad_report = d.path().join("no-such-dir").join("report.json");
    let second = build(&src, &out, &[&"--report", &bad_report]);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        snapshot(&out) == before,
        "the build exited 1 ({}) but replaced OUT",
        stderr(&second).trim()
    );
}

/// README: a history that "fails any check" is "an error naming what and where"; format.rs:
/// "a corrupt or hostile history is an error naming what is wrong". A kept entry whose
/// `content_type` carries CR LF (a header injection the edge's header edits refuse, so that file
/// can no longer be served) used to be accepted and copied into the new cdn-manifest.json.
#[test]
fn a_history_entry_with_a_crlf_content_type_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "a.txt", "one");
    let first = build(&src, &out, &[&"--deploy-id", &"d1"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let hist = out.join("asset-history.json");
    let text = fs::read_to_string(&hist).unwrap();
    let edited = text.replace(
        "\"text/plain; charset=utf-8\"",
        "\"text/html\\r\\nSet-Cookie: session=attacker\"",
    );
    assert_ne!(text, edited);
    fs::write(&hist, edited).unwrap();
    write(&src, "a.txt", "two");
    let fresh = d.path().join("out2");
    let second = build(&src, &fresh, &[&"--deploy-id", &"d2", &"--history", &out]);
    let manifest = fs::read_to_string(fresh.join("cdn-manifest.json")).unwrap_or_default();
    assert!(
        !manifest.contains("Set-Cookie"),
        "a CR LF content type from the history was published (exit {:?}):\n{manifest}",
        second.status.code()
    );
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("asset-history.json"),
        "{}",
        stderr(&second)
    );
}

/// README: "The same input (and deploy id and date) always gives byte-identical output", and
/// SRC/OUT nesting is refused as a clear error. A `--cache-dir` inside SRC used to be accepted;
/// the next build published the cache's own objects as assets (in manifest.json, growing every
/// build).
#[test]
fn a_cache_dir_inside_src_is_refused_or_never_published() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "a.txt", "compressible text ".repeat(300));
    let cache = src.join(".cache");
    let build = || {
        run(&[
            &"build",
            &src,
            &"--out",
            &out,
            &"--cache-dir",
            &cache,
            &"--deploy-id",
            &"same",
            &"-q",
        ])
    };
    let first = build();
    if first.status.code() == Some(1) {
        assert!(stderr(&first).contains("cache"), "{}", stderr(&first));
        return;
    }
    let m1 = fs::read_to_string(out.join("manifest.json")).unwrap();
    let second = build();
    assert!(second.status.success(), "{}", stderr(&second));
    let m2 = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert_eq!(
        m1, m2,
        "the same SRC built twice gives a different manifest (the cache is published)"
    );
}

/// README: exit 1 "with `asset-builder: error: …` naming the file". A source file whose
/// fingerprinted name is too long for the file system used to fail with an error naming only a path in
/// the hidden temporary tree (`.out.tmp-NNN/assets/…-<hash>.txt`), which is gone afterwards, not
/// the source file at fault.
#[test]
fn a_name_too_long_once_fingerprinted_is_an_error_naming_the_source_file() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    let name = format!("{}.txt", "n".repeat(245));
    write(&src, &name, "x");
    let o = build(&src, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let named = src.join(&name);
    assert!(
        err.contains(&named.display().to_string()) || err.contains(&format!("`{name}`")),
        "the error does not name the source file {}: {err}",
        Path::new(&name).display()
    );
    assert!(
        !err.contains(".tmp-"),
        "the error names a temporary path: {err}"
    );
}

/// README: deploys are recorded "newest first", the reader refuses "unsorted deploys", and a
/// history the builder writes is the next build's `--history`. When the previous deploy's date
/// is later than this build's clock (a CI runner whose clock ran ahead), the build used to succeed
/// and write the new deploy first with an earlier date: the next build refused the builder's own
/// output ("deploys are not newest first"), so the deploy chain broke one build later.
#[test]
fn a_previous_deploy_dated_after_this_builds_clock_never_yields_an_unreadable_history() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "a.txt", "one");
    let first = build(&src, &out, &[&"--deploy-id", &"d1"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // d1 as a runner whose clock is a day ahead would have recorded it.
    let hist = out.join("asset-history.json");
    let text = fs::read_to_string(&hist).unwrap();
    let mut h: serde_json::Value = serde_json::from_str(&text).unwrap();
    let date = h["deploys"][0]["date"].as_str().unwrap().to_string();
    let year: u32 = date[..4].parse().unwrap();
    h["deploys"][0]["date"] = format!("{}{}", year + 1, &date[4..]).into();
    fs::write(&hist, serde_json::to_vec_pretty(&h).unwrap()).unwrap();

    write(&src, "a.txt", "two");
    let second = build(&src, &out, &[&"--deploy-id", &"d2", &"--history", &out]);
    if second.status.code() == Some(1) {
        // Refusing the skewed history with a clear error is acceptable too.
        assert!(
            stderr(&second).contains("asset-history.json"),
            "{}",
            stderr(&second)
        );
        return;
    }
    assert!(second.status.success(), "{}", stderr(&second));
    write(&src, "a.txt", "three");
    let third = build(&src, &out, &[&"--deploy-id", &"d3", &"--history", &out]);
    assert!(
        third.status.success(),
        "the builder refuses the history it wrote one build earlier: {}",
        stderr(&third)
    );
}

/// An empty `--delta-codings` is a usage error, not a silent "no deltas" (that is
/// `--delta-versions 0`).
#[test]
fn an_empty_delta_codings_list_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("out"));
    write(&src, "a.txt", "one");
    let o = run(&[&"build", &src, &"--out", &out, &"--delta-codings", &" , "]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--delta-versions 0"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing built");
}
