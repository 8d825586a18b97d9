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
