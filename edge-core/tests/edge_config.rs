//! The `edge-config check` command on good and bad wrangler.toml files.

use std::process::Command;

fn check(toml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrangler.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-config"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const ASSETS: &str =
    "[assets]\ndirectory = \"www/build\"\nbinding = \"ASSETS\"\nrun_worker_first = true\n";

#[test]
fn the_projects_own_wrangler_toml_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_edge-config"))
        .arg("check")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../wrangler.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_configurations_are_rejected_naming_the_key() {
    let pool = "[vars.EDGE.pools.dc1]\norigins = [{ url = \"http://127.0.0.1:8001\" }]\n";
    let cases = [
        (
            format!("{ASSETS}[vars.EDGE]\npublik_path = \"/assets/\"\n"),
            "vars.EDGE.publik_path",
            "unknown field",
        ),
        (
            format!("{ASSETS}[vars.EDGE.pools.dc1]\norigins = [{{ url = \"not a url\" }}]\n"),
            "vars.EDGE.pools.dc1.origins[0].url",
            "http(s) URL",
        ),
        (
            format!(
                "{ASSETS}[vars.EDGE.pools.dc1]\norigins = [{{ url = \"http://x\", weight = 0 }}]\n"
            ),
            "vars.EDGE.pools.dc1.origins[0].weight",
            "out of range",
        ),
        (
            format!("{ASSETS}[[vars.EDGE.routes]]\npools = [\"dc9\"]\n{pool}"),
            "vars.EDGE.routes[0].pools[0]",
            "unknown pool `dc9`",
        ),
        (
            format!("{ASSETS}{pool}[env.staging.vars.EDGE]\nmax_attempts = 99\n"),
            "env.staging.vars.EDGE.max_attempts",
            "out of range",
        ),
        (
            format!("{ASSETS}[vars]\nEDGE = \"not a table\"\n"),
            "vars.EDGE",
            "must be a table",
        ),
        ("[vars.EDGE]\n".to_string(), "[assets]", "missing"),
        (
            "[assets]\nbinding = \"FILES\"\nrun_worker_first = true\n".to_string(),
            "assets.binding",
            "ASSETS",
        ),
        ("this is = = not toml".to_string(), "not valid TOML", ""),
    ];
    for (toml, key, reason) in cases {
        let (ok, out) = check(&toml);
        assert!(!ok, "accepted:\n{toml}");
        assert!(
            out.contains(key) && out.contains(reason),
            "{key}/{reason} not in: {out}"
        );
    }
}

#[test]
fn environments_are_checked_on_their_own() {
    let toml = format!("{ASSETS}[vars.EDGE]\npublic_path = \"/assets/\"\n[env.staging.vars.EDGE]\npublic_path = \"/static/\"\n");
    let (ok, out) = check(&toml);
    assert!(ok, "{out}");
    assert!(
        out.contains("vars.EDGE") && out.contains("env.staging.vars.EDGE"),
        "{out}"
    );
}

/// Runs `edge-config check` on `toml` written into `dir`, with extra arguments.
fn check_in(dir: &std::path::Path, toml: &str, extra: &[&str]) -> (bool, String) {
    let path = dir.join("wrangler.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-config"))
        .arg("check")
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A build directory holding an index with one page at `/assets/errors/404.html`.
fn build_with(dir: &std::path::Path, public_path: &str) {
    use cdn_manifest::{Entry, Manifest};
    let mut m = Manifest::new(public_path);
    m.entries.insert(
        format!("{public_path}errors/404.html"),
        Entry {
            logical_path: "errors/404.html".into(),
            content_type: "text/html; charset=utf-8".into(),
            size: 3,
            etag: "\"e\"".into(),
            integrity: "sha384-x".into(),
            immutable: false,
            encodings: Default::default(),
            deploy: "d1".into(),
            use_as_dictionary: None,
            deltas: Vec::new(),
        },
    );
    let (root, shards) = cdn_manifest::index::encode_sharded(&m);
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("cdn-manifest.bin"), root).unwrap();
    for (i, s) in shards.iter().enumerate() {
        std::fs::write(build.join(format!("cdn-manifest-{i}.bin")), s).unwrap();
    }
}

const BUILD_ASSETS: &str =
    "[assets]\ndirectory = \"build\"\nbinding = \"ASSETS\"\nrun_worker_first = true\n";
const DO: &str =
    "[[durable_objects.bindings]]\nname = \"EDGE_COORDINATOR\"\nclass_name = \"EdgeCoordinator\"\n";
const POOLS: &str = "[[vars.EDGE.routes]]\npools = [\"dc1\"]\n[vars.EDGE.pools.dc1]\norigins = [{ url = \"https://app.internal\" }]\n[[durable_objects.bindings]]\nname = \"EDGE_COORDINATOR\"\nclass_name = \"EdgeCoordinator\"\n";

#[test]
fn an_environment_without_its_own_edge_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{BUILD_ASSETS}{POOLS}[env.staging]\nname = \"shop-staging\"\n");
    let (ok, out) = check_in(dir.path(), &toml, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("env.staging.vars") && out.contains("does not inherit"),
        "{out}"
    );
}

#[test]
fn ip_literal_origins_are_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{BUILD_ASSETS}[[vars.EDGE.routes]]\npools = [\"dc1\"]\n[vars.EDGE.pools.dc1]\norigins = [{{ url = \"http://127.0.0.1:8001\" }}]\n{DO}");
    let (ok, out) = check_in(dir.path(), &toml, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning at `vars.EDGE.pools.dc1.origins[0].url`")
            && out.contains("IP address"),
        "{out}"
    );
    assert!(out.contains("needs the secrets EDGE_ORIGIN_KEY"), "{out}");
}

#[test]
fn the_build_is_checked_when_it_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let page = "[vars.EDGE]\nnot_found_page = \"/assets/errors/404.html\"\n";
    let (ok, out) = check_in(dir.path(), &format!("{BUILD_ASSETS}{page}"), &[]);
    assert!(ok, "no build yet: {out}");
    assert!(out.contains("not checked"), "{out}");
    build_with(dir.path(), "/assets/");
    let (ok, out) = check_in(dir.path(), &format!("{BUILD_ASSETS}{page}"), &[]);
    assert!(ok, "{out}");
    let missing = "[vars.EDGE]\nnot_found_page = \"/assets/errors/500.html\"\n";
    let (ok, out) = check_in(dir.path(), &format!("{BUILD_ASSETS}{missing}"), &[]);
    assert!(
        !ok && out.contains("vars.EDGE.not_found_page") && out.contains("not in the build"),
        "{out}"
    );
    build_with(dir.path(), "/static/");
    let (ok, out) = check_in(dir.path(), &format!("{BUILD_ASSETS}[vars.EDGE]\n"), &[]);
    assert!(
        !ok && out.contains("vars.EDGE.public_path") && out.contains("/static/"),
        "{out}"
    );
}

#[test]
fn secrets_and_bindings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let vars = dir.path().join(".dev.vars");
    std::fs::write(
        &vars,
        "EDGE_HEALTH_TOKEN=\"t\"\n# EDGE_ORIGIN_KEY=\"commented\"\n",
    )
    .unwrap();
    let secrets = vars.to_str().unwrap();
    let (ok, out) = check_in(
        dir.path(),
        &format!("{BUILD_ASSETS}{POOLS}"),
        &["--secrets", secrets],
    );
    assert!(
        !ok && out.contains("EDGE_ORIGIN_KEY") && out.contains("vars.EDGE.origin_auth"),
        "{out}"
    );
    std::fs::write(&vars, "EDGE_ORIGIN_KEY=\"k\"\n").unwrap();
    let (ok, out) = check_in(
        dir.path(),
        &format!("{BUILD_ASSETS}{POOLS}"),
        &["--secrets", secrets],
    );
    assert!(ok, "{out}");
    let health = format!("{BUILD_ASSETS}[[vars.EDGE.routes]]\npools = [\"dc1\"]\ncache = {{ enabled = false }}\n[vars.EDGE.pools.dc1]\norigins = [{{ url = \"https://app.internal\" }}]\n[vars.EDGE.pools.dc1.health]\npath = \"/health\"\n");
    let (ok, out) = check_in(dir.path(), &health, &[]);
    assert!(
        !ok && out.contains("EDGE_COORDINATOR") && out.contains("health"),
        "{out}"
    );
    let (ok, out) = check_in(dir.path(), &format!("{health}{DO}"), &[]);
    assert!(ok, "{out}");
    let (ok, out) = check_in(dir.path(), "", &["--bogus"]);
    assert!(!ok && out.contains("unknown option"), "{out}");
}
