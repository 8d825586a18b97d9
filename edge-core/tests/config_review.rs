//! `edge-config check` against hostile configurations and secrets files: what an adversarial
//! review found (each test failed before its fix).

use std::process::Command;
use std::time::{Duration, Instant};

const ASSETS: &str =
    "[assets]\ndirectory = \"nobuild\"\nbinding = \"ASSETS\"\nrun_worker_first = true\n";

/// Runs `edge-config check wrangler.toml [extra…]` in a temp dir holding `toml` and `files`
/// (relative paths, their directories created).
fn check_with(toml: &str, files: &[(&str, &str)], extra: &[&str]) -> (i32, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrangler.toml");
    std::fs::write(&path, toml).unwrap();
    for (name, text) in files {
        let file = dir.path().join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-config"))
        .current_dir(dir.path())
        .arg("check")
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        started.elapsed(),
    )
}

const POOL_AND_ROUTE: &str = "[vars.EDGE.pools.dc1]\norigins = [{ url = \"https://a.example\" }]\n\
[[vars.EDGE.routes]]\npools = [\"dc1\"]\ncache = { enabled = false }\n";

/// The read-your-writes cookie and the affinity cookie are two different signed cookies the edge
/// sets on the same client; giving them one name makes each overwrite (and fail to verify as)
/// the other. Such a configuration used to be accepted silently.
#[test]
fn ryw_cookie_with_the_affinity_cookies_name_is_refused() {
    let toml = format!(
        "{ASSETS}[vars.EDGE]\nryw_cookie = \"__edge_affinity\"\n\
[vars.EDGE.pools.dc1]\nsticky = true\norigins = [{{ url = \"https://a.example\" }}]\n\
[vars.EDGE.pools.w]\norigins = [{{ url = \"https://w.example\" }}]\n\
[[vars.EDGE.routes]]\npools = [\"dc1\"]\nwrite_pool = \"w\"\ncache = {{ enabled = false }}\n"
    );
    let (code, out, _) = check_with(&toml, &[], &[]);
    assert_eq!(code, 1, "accepted two cookies with one name:\n{out}");
    assert!(out.contains("ryw_cookie"), "{out}");
}

/// dotenv (what wrangler reads `.dev.vars` with) gives `KEY= # comment` and `KEY="" # comment`
/// the empty value; edge-config took the comment for the value and reported the secret present.
#[test]
fn an_empty_secret_followed_by_a_comment_is_not_present() {
    for line in [
        "EDGE_ORIGIN_KEY= # set me\n",
        "EDGE_ORIGIN_KEY=\"\" # set me\n",
    ] {
        let toml = format!("{ASSETS}{POOL_AND_ROUTE}");
        let (code, out, _) = check_with(&toml, &[(".dev.vars", line)], &["--secrets", ".dev.vars"]);
        assert_eq!(
            code, 1,
            "an empty EDGE_ORIGIN_KEY ({line:?}) was taken as set:\n{out}"
        );
        assert!(out.contains("EDGE_ORIGIN_KEY"), "{out}");
    }
}

/// dotenv (and so wrangler's `.dev.vars`) accepts `export NAME=value`; edge-config read the
/// name as `export NAME` and said the secret was not set: a valid setup failed the check.
#[test]
fn an_exported_secret_in_the_dotenv_file_is_present() {
    let toml = format!("{ASSETS}{POOL_AND_ROUTE}");
    let (code, out, _) = check_with(
        &toml,
        &[(".dev.vars", "export EDGE_ORIGIN_KEY=0123456789abcdef\n")],
        &["--secrets", ".dev.vars"],
    );
    assert_eq!(code, 0, "{out}");
}

/// A large `hide_response_headers` list was checked in quadratic time (each name compared with
/// every earlier one): 80,000 names took ~40 s, a 38 MB file over 10 minutes. The check (and the
/// worker's load, which runs the same code) must stay linear or refuse the list naming the key.
#[test]
fn a_long_hide_response_headers_list_does_not_hang_the_check() {
    let names: Vec<String> = (0..60_000).map(|i| format!("\"x-h{i}\"")).collect();
    let toml = format!(
        "{ASSETS}[vars.EDGE]\nhide_response_headers = [{}]\n",
        names.join(",")
    );
    let (code, out, took) = check_with(&toml, &[], &[]);
    assert!(
        took < Duration::from_secs(8),
        "edge-config check took {took:?} for 60,000 header names (exit {code}): {}",
        out.lines().next().unwrap_or("")
    );
    if code == 1 {
        assert!(out.contains("hide_response_headers"), "{out}");
    }
}

/// README: edge-config checks "the build in the `[assets]` directory when it exists (its public
/// path must match; `not_found_page` must be in it)", and the worker answers 500 for "a missing
/// … manifest". With `manifest = "/other.bin"` and a build that exists but has no such file, the
/// check said "valid" — no error, not even the "build is not there yet" note (that looked for
/// `cdn-manifest.bin`, whatever `manifest` said) — and skipped the `not_found_page` check.
#[test]
fn a_manifest_missing_from_an_existing_build_is_an_error() {
    // A build is there (its index root, whatever its bytes: the check never reads it, since
    // `manifest` names another file) — but not the file `manifest` names.
    let toml = "[assets]\ndirectory = \"build\"\nbinding = \"ASSETS\"\nrun_worker_first = true\n\
[vars.EDGE]\nmanifest = \"/other.bin\"\nnot_found_page = \"/assets/nothere.html\"\n";
    let (code, text, _) = check_with(toml, &[("build/cdn-manifest.bin", "")], &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("manifest") || text.contains("not_found_page"),
        "{text}"
    );
}

/// `env` that is not a table of environments (or an environment that is not a table) is an
/// error naming it, not ignored.
#[test]
fn an_env_that_is_not_a_table_is_refused() {
    for (toml, named) in [
        ("env = \"x\"\n", "`env`"),
        ("[env]\nstaging = 3\n", "`env.staging`"),
    ] {
        let (code, out, _) = check_with(&format!("{toml}{ASSETS}"), &[], &[]);
        assert_eq!(code, 1, "{toml}: {out}");
        assert!(out.contains(named), "{toml}: {out}");
    }
}
