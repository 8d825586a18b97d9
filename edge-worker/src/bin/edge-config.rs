//! `edge-config check [wrangler.toml]`: validates the edge configuration a deploy would use —
//! `[vars.EDGE]` and every `[env.NAME.vars.EDGE]` (wrangler does not inherit vars into
//! environments, so each is checked on its own) — plus the `[assets]` binding the worker needs.
//! Exits non-zero with a message naming the key and why.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [cmd] if cmd == "check" => "wrangler.toml".to_string(),
        [cmd, path] if cmd == "check" => path.clone(),
        [flag] if flag == "--help" || flag == "-h" => {
            println!("usage: edge-config check [WRANGLER_TOML]\n\nValidates [vars.EDGE] and every [env.NAME.vars.EDGE] of a wrangler.toml\n(default ./wrangler.toml) and its [assets] binding; exits 1 naming the bad key.");
            return std::process::ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: edge-config check [WRANGLER_TOML]");
            return std::process::ExitCode::from(2);
        }
    };
    match check(&path) {
        Ok(checked) => {
            println!("{path}: edge configuration valid ({})", checked.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("{path}: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn check(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc: toml::Value = toml::from_str(&text).map_err(|e| format!("not valid TOML: {e}"))?;
    let mut checked = Vec::new();
    let assets = doc
        .get("assets")
        .ok_or("missing [assets] (the worker reads the build through it)")?;
    if assets.get("binding").and_then(|b| b.as_str()) != Some("ASSETS") {
        return Err("invalid `assets.binding`: must be \"ASSETS\"".into());
    }
    if assets.get("run_worker_first").and_then(|b| b.as_bool()) != Some(true) {
        return Err(
            "invalid `assets.run_worker_first`: must be true (the worker decides every response)"
                .into(),
        );
    }
    let mut scopes = vec![("vars".to_string(), doc.get("vars"))];
    if let Some(envs) = doc.get("env").and_then(|e| e.as_table()) {
        for (name, env) in envs {
            scopes.push((format!("env.{name}.vars"), env.get("vars")));
        }
    }
    for (scope, vars) in scopes {
        let edge = vars.and_then(|v| v.get("EDGE"));
        let value = match edge {
            Some(t @ toml::Value::Table(_)) => {
                serde_json::to_value(t).map_err(|e| format!("{scope}.EDGE: {e}"))?
            }
            Some(_) => {
                return Err(format!(
                    "invalid `{scope}.EDGE`: must be a table ([{scope}.EDGE])"
                ))
            }
            None if scope == "vars" => serde_json::json!({}),
            None => continue,
        };
        edge_worker::config::Config::from_value(value)
            .map_err(|e| format!("invalid configuration at `{scope}.{}`: {}", e.key, e.reason))?;
        checked.push(format!("{scope}.EDGE"));
    }
    Ok(checked)
}
