//! `edge-config check [WRANGLER_TOML] [--secrets FILE]`: validates the edge configuration a
//! deploy would use — `[vars.EDGE]` and every `[env.NAME.vars.EDGE]` (wrangler does not inherit
//! vars or bindings into environments, so each is checked on its own) — with what it needs from
//! around it: the `[assets]` binding, the coordinator Durable Object, the build's manifest (when built) and,
//! given a dotenv file, the secrets. Exits 1 naming the key and why; prints warnings.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use edge_core::config::{Config, Environment};

    const USAGE: &str = "usage: edge-config check [WRANGLER_TOML] [--secrets FILE]

Validates [vars.EDGE] and every [env.NAME.vars.EDGE] of a wrangler.toml (default
./wrangler.toml) with the worker's own parser, plus what each needs from the deployment:
the [assets] binding, the coordinator (Durable Object EDGE_COORDINATOR) for caching routes, health checks and jobs, the build in the
[assets] directory (when it exists: its public path and the pages the configuration names),
and — with --secrets FILE, a dotenv file such as .dev.vars — the secrets.
Exits 0 when valid (warnings are printed), 1 naming the bad key, 2 on usage errors.";

    pub(crate) fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut path = None;
        let mut secrets = None;
        let mut it = args.iter();
        match it.next().map(String::as_str) {
            Some("check") => {}
            Some("--help" | "-h") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
        while let Some(a) = it.next() {
            match a.as_str() {
                "--secrets" => match it.next() {
                    Some(f) => secrets = Some(PathBuf::from(f)),
                    None => {
                        eprintln!("edge-config: --secrets needs a FILE\n\n{USAGE}");
                        return ExitCode::from(2);
                    }
                },
                "--help" | "-h" => {
                    println!("{USAGE}");
                    return ExitCode::SUCCESS;
                }
                flag if flag.starts_with('-') => {
                    eprintln!("edge-config: unknown option {flag}\n\n{USAGE}");
                    return ExitCode::from(2);
                }
                p if path.is_none() => path = Some(PathBuf::from(p)),
                extra => {
                    eprintln!("edge-config: unexpected argument {extra}\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            }
        }
        let path = path.unwrap_or_else(|| PathBuf::from("wrangler.toml"));
        match check(&path, secrets.as_deref()) {
            Ok(report) => {
                for w in &report.warnings {
                    eprintln!("{}: {w}", path.display());
                }
                println!(
                    "{}: edge configuration valid ({}){}",
                    path.display(),
                    report.checked.join(", "),
                    report.notes
                );
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("{}: {msg}", path.display());
                ExitCode::FAILURE
            }
        }
    }

    struct Report {
        checked: Vec<String>,
        warnings: Vec<String>,
        notes: String,
    }

    fn check(path: &Path, secrets_file: Option<&Path>) -> Result<Report, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
        let doc: toml::Value = toml::from_str(&text).map_err(|e| format!("not valid TOML: {e}"))?;
        let assets = doc
            .get("assets")
            .ok_or("missing [assets] (the worker reads the build through it)")?;
        if assets.get("binding").and_then(|b| b.as_str()) != Some("ASSETS") {
            return Err("invalid `assets.binding`: must be \"ASSETS\"".into());
        }
        if assets.get("run_worker_first").and_then(|b| b.as_bool()) != Some(true) {
            return Err("invalid `assets.run_worker_first`: must be true (the worker decides every response)".into());
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let build = assets
            .get("directory")
            .and_then(|d| d.as_str())
            .map(|d| base.join(d));
        let secrets = match secrets_file {
            Some(f) => Some(read_dotenv(f)?),
            None => None,
        };
        let mut scopes = vec![("vars".to_string(), &doc)];
        match doc.get("env") {
            Some(toml::Value::Table(envs)) => {
                for (name, env) in envs {
                    if !env.is_table() {
                        return Err(format!(
                            "invalid `env.{name}`: must be a table ([env.{name}])"
                        ));
                    }
                    scopes.push((format!("env.{name}.vars"), env));
                }
            }
            Some(_) => {
                return Err("invalid `env`: must be a table of environments ([env.NAME])".into())
            }
            None => {}
        }
        let mut report = Report {
            checked: Vec::new(),
            warnings: Vec::new(),
            notes: String::new(),
        };
        let mut needed = Vec::new();
        for (scope, table) in scopes {
            let value = match table.get("vars").and_then(|v| v.get("EDGE")) {
                Some(t @ toml::Value::Table(_)) => {
                    serde_json::to_value(t).map_err(|e| format!("{scope}.EDGE: {e}"))?
                }
                Some(_) => {
                    return Err(format!(
                        "invalid `{scope}.EDGE`: must be a table ([{scope}.EDGE])"
                    ))
                }
                None if scope == "vars" => serde_json::json!({}),
                None => {
                    return Err(format!(
                        "invalid `{scope}`: this environment has no [{scope}.EDGE] of its own; wrangler does not inherit vars, so it would run with the defaults and no routes (copy [vars.EDGE] into it)"
                    ))
                }
            };
            let cfg = Config::from_value(value).map_err(|e| {
                format!("invalid configuration at `{scope}.{}`: {}", e.key, e.reason)
            })?;
            let durable_objects = table
                .get("durable_objects")
                .and_then(|d| d.get("bindings"))
                .and_then(|b| b.as_array())
                .map(|list| {
                    list.iter()
                        .filter_map(|b| b.get("name")?.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let built = build
                .as_deref()
                .and_then(|b| read_root(b, &cfg).transpose())
                .transpose()?;
            let env = Environment {
                secrets: secrets.clone(),
                durable_objects,
                manifest_public_path: built.as_ref().map(|r| r.public_path().to_string()),
            };
            cfg.check_environment(&env).map_err(|e| {
                format!("invalid configuration at `{scope}.{}`: {}", e.key, e.reason)
            })?;
            if let (Some(root), Some(dir)) = (&built, &build) {
                for (key, page) in cfg.required_assets() {
                    if !in_build(dir, &cfg, root, page)? {
                        return Err(format!(
                            "invalid configuration at `{scope}.{key}`: `{page}` is not in the build ({})",
                            dir.display()
                        ));
                    }
                }
            }
            for w in cfg.warnings() {
                report
                    .warnings
                    .push(format!("warning at `{scope}.{}`: {}", w.key, w.message));
            }
            for (name, _) in cfg.required_secrets() {
                if !needed.contains(&name) {
                    needed.push(name);
                }
            }
            report.checked.push(format!("{scope}.EDGE"));
        }
        if build.as_deref().is_some_and(|b| !is_build(b)) {
            report
                .notes
                .push_str("; the build is not there yet, so its manifest was not checked");
        }
        if !needed.is_empty() {
            report.notes.push_str(&format!(
                "; needs the secrets {}{}",
                needed.join(", "),
                if secrets.is_some() {
                    " (present)"
                } else {
                    " (not checked: pass --secrets FILE)"
                }
            ));
        }
        Ok(report)
    }

    /// The build's index root, if the build exists.
    fn read_root(dir: &Path, cfg: &Config) -> Result<Option<cdn_manifest::Root>, String> {
        let file = dir.join(cfg.assets.manifest.trim_start_matches('/'));
        match std::fs::read(&file) {
            Ok(bytes) => cdn_manifest::Root::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !is_build(dir) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "invalid configuration at `manifest`: `{}` is not in the build ({}); the worker would answer 500",
                cfg.assets.manifest,
                dir.display()
            )),
            Err(e) => Err(format!("{}: {e}", file.display())),
        }
    }

    /// Whether `dir` holds an asset build (what asset-builder always writes beside the index).
    fn is_build(dir: &Path) -> bool {
        ["manifest.json", "cdn-manifest.bin", "asset-history.json"]
            .iter()
            .any(|f| dir.join(f).exists())
    }

    /// Whether `page` is an entry of the build's index.
    fn in_build(
        dir: &Path,
        cfg: &Config,
        root: &cdn_manifest::Root,
        page: &str,
    ) -> Result<bool, String> {
        let shard = cdn_manifest::shard_path(&cfg.assets.manifest, root.shard_of(page));
        let file = dir.join(shard.trim_start_matches('/'));
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let index = cdn_manifest::Index::from_bytes(bytes)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(matches!(index.get(page), Ok(Some(_))))
    }

    /// Names of the non-empty variables of a dotenv file (`NAME="value"` lines).
    fn read_dotenv(file: &Path) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let (k, v) = l.trim().split_once('=')?;
                let k = k.trim();
                let k = k.strip_prefix("export ").map_or(k, str::trim_start);
                (!k.starts_with('#') && !dotenv_value(v).is_empty()).then(|| k.to_string())
            })
            .collect())
    }

    /// A `.dev.vars` value as dotenv reads it: inside its quotes when quoted, else up to a
    /// ` #` comment; trimmed (`KEY= # set me` is empty).
    fn dotenv_value(v: &str) -> &str {
        let v = v.trim();
        for q in ['"', '\''] {
            if let Some(inner) = v.strip_prefix(q) {
                return inner.split(q).next().unwrap_or("");
            }
        }
        if v.starts_with('#') {
            return "";
        }
        let end = v.find(" #").or_else(|| v.find("\t#")).unwrap_or(v.len());
        v[..end].trim()
    }
}
