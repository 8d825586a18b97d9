//! The `asset-builder` command: argument parsing, progress and the summary. All the work is in
//! the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use asset_builder::report::Totals;
use asset_builder::{build, Options, Phase, Progress, Report};
use clap::{Parser, Subcommand};

/// Fingerprints, rewrites, precompresses and indexes a Symfony app's public assets.
#[derive(Parser)]
#[command(name = "asset-builder", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build SRC into OUT: fingerprinted files, .br/.gz siblings, manifest.json and
    /// cdn-manifest.json. OUT is replaced atomically; on failure it is left untouched.
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The source tree of assets (e.g. www/assets).
    src: PathBuf,
    /// The output directory. Created if missing; replaced as a whole on success. Refused if it
    /// exists, is not empty and was not written by asset-builder.
    #[arg(long)]
    out: PathBuf,
    /// URL path under which files are published (and directory inside OUT).
    #[arg(long, default_value = asset_builder::options::DEFAULT_PUBLIC_PATH, value_name = "PATH")]
    public_path: String,
    /// Absolute URL prefixed to manifest.json values, for assets served from a CDN host.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Fail on a reference to a file that is not in SRC (default: warn and leave it as written).
    #[arg(long)]
    strict: bool,
    /// Publish files matching this glob (on paths relative to SRC) under their own name, without
    /// a fingerprint; served with revalidation. Repeatable.
    #[arg(long, value_name = "GLOB")]
    no_fingerprint: Vec<String>,
    /// Where compressed files are kept between builds [default: .asset-builder-cache beside OUT].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Do not reuse or store compressed files between builds.
    #[arg(long)]
    no_cache: bool,
    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Write the build report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print nothing but errors (warnings still go to the report).
    #[arg(long, short)]
    quiet: bool,
    /// Keep earlier deploys: SOURCE is a previous output directory (restored from a CI cache or
    /// artifact, or OUT itself) or the live site's base URL (https://shop.example.com), whose
    /// edge serves the history at /.well-known/asset-history/. Every file taken from it is
    /// checked against its recorded SHA-256; its compressed files are reused, not recomputed.
    #[arg(long, value_name = "SOURCE")]
    history: Option<String>,
    /// If the history cannot be used (missing, unreachable, corrupt), warn and build without it
    /// instead of failing (e.g. the first build with --history).
    #[arg(long, requires = "history")]
    history_optional: bool,
    /// Deploys OUT keeps, this one included: older ones' files are dropped.
    #[arg(long, value_name = "N", default_value_t = asset_builder::options::DEFAULT_KEEP_DEPLOYS)]
    keep_deploys: usize,
    /// Also drop a deploy replaced by a newer one more than D days ago.
    #[arg(long, value_name = "D")]
    keep_days: Option<u64>,
    /// This deploy's id in the history (1-64 letters, digits, `.`, `_`, `-`; e.g. the git
    /// commit) [default: the build's UTC time, YYYYMMDDTHHMMSSZ]. Building again with the same
    /// id replaces that deploy.
    #[arg(long, value_name = "ID")]
    deploy_id: Option<String>,
    /// RFC 9842 deltas: each fingerprinted text file gets dcz deltas against this many earlier
    /// versions of its path in the history (dcb against the most recent), and a
    /// Use-As-Dictionary header (0: neither).
    #[arg(long, value_name = "K", default_value_t = asset_builder::options::DEFAULT_DELTA_VERSIONS)]
    delta_versions: usize,
    /// Files smaller than this get no deltas and no Use-As-Dictionary.
    #[arg(long, value_name = "BYTES", default_value_t = asset_builder::options::DEFAULT_DELTA_MIN_SIZE)]
    delta_min_size: u64,
    /// The delta codings to make: dcz (zstd), dcb (brotli), or both, comma-separated.
    #[arg(long, value_name = "LIST", default_value = "dcz,dcb", value_parser = parse_codings)]
    delta_codings: std::vec::Vec<cdn_manifest::DeltaEncoding>,
    /// The most files OUT may hold (siblings, deltas, kept deploys and manifests included): an
    /// error past it. Workers accepts 100,000 files per version on the paid plan, 20,000 on the
    /// free plan (past 20,000 is always a warning).
    #[arg(long, value_name = "N", default_value_t = asset_builder::options::MAX_FILES_PAID)]
    max_files: usize,
}

fn parse_codings(s: &str) -> Result<Vec<cdn_manifest::DeltaEncoding>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let enc = match part {
            "dcz" => cdn_manifest::DeltaEncoding::Zstd,
            "dcb" => cdn_manifest::DeltaEncoding::Brotli,
            other => return Err(format!("`{other}` is not dcz or dcb")),
        };
        if !v.contains(&enc) {
            v.push(enc);
        }
    }
    if v.is_empty() {
        return Err("give dcz, dcb or both (--delta-versions 0 makes no deltas)".into());
    }
    Ok(v)
}

fn main() -> ExitCode {
    // A panic the library catches (the brotli encoder's, on some inputs with a dictionary) is
    // reported as a warning; only others print.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !asset_builder::delta::in_guarded_brotli() {
            default_hook(info);
        }
    }));
    let Command::Build(args) = Cli::parse().command;
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("asset-builder: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &BuildArgs) -> Result<(), String> {
    let mut opts = Options::new(&args.src, &args.out);
    opts.public_path = args.public_path.clone();
    opts.base_url = args.base_url.clone();
    opts.strict = args.strict;
    opts.no_fingerprint = args.no_fingerprint.clone();
    if args.no_cache {
        opts.cache_dir = None;
    } else if let Some(dir) = &args.cache_dir {
        opts.cache_dir = Some(dir.clone());
    }
    opts.jobs = args.jobs;
    opts.history = args
        .history
        .as_deref()
        .map(asset_builder::history::Source::parse);
    opts.history_optional = args.history_optional;
    opts.keep.deploys = args.keep_deploys;
    opts.keep.days = args.keep_days;
    opts.deploy_id = args.deploy_id.clone();
    opts.deltas.versions = args.delta_versions;
    opts.deltas.min_size = args.delta_min_size;
    opts.deltas.encodings = args.delta_codings.clone();
    opts.max_files = args.max_files;
    if let Some(path) = args.report.as_deref().filter(|p| p.as_os_str() != "-") {
        report_path_usable(path, &args.out)?;
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(Bar::new);
    let progress: &dyn Progress = match &bar {
        Some(b) => b,
        None => &asset_builder::report::NoProgress,
    };
    let result = build(&opts, progress);
    if let Some(b) = &bar {
        b.bar.finish_and_clear();
    }
    let report = result.map_err(|e| e.to_string())?;
    if !args.quiet {
        for w in &report.warnings {
            eprintln!("asset-builder: warning: {w}");
        }
        eprintln!("{}", summary(&report, &args.out));
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).expect("report serialises");
        if path.as_os_str() == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n")
                .map_err(|e| format!("cannot write report {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Refuses, before building, a `--report` FILE that could not be written afterwards (its
/// directory missing, a directory) or would land inside OUT: a build that then failed on it
/// would already have replaced OUT.
fn report_path_usable(path: &std::path::Path, out: &std::path::Path) -> Result<(), String> {
    let refused = |why: &str| format!("cannot write report {}: {why}", path.display());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| refused(&format!("its directory: {e}")))?;
    if !dir.is_dir() || path.is_dir() {
        return Err(refused("not a file in a directory"));
    }
    if out.canonicalize().is_ok_and(|o| dir.starts_with(o)) {
        return Err(refused(
            "it is inside OUT, which each build replaces as a whole",
        ));
    }
    Ok(())
}

fn summary(r: &Report, out: &std::path::Path) -> String {
    let Totals { identity, br, gzip } = r.bytes;
    let pct = |x: u64| {
        if identity == 0 {
            0.0
        } else {
            100.0 * x as f64 / identity as f64
        }
    };
    format!(
        "built {} files into {} ({} output files) in {:.2}s\n  \
         identity {}\n  brotli   {} ({:.1}%, {} .br files)\n  gzip     {} ({:.1}%, {} .gz files)\n  \
         cache    {} reused, {} from the history, {} compressed\n  \
         deltas   {} kept ({} reused, {} computed)\n  \
         deploy   {}; OUT holds {}{}{}",
        r.files,
        out.display(),
        r.output_files,
        r.duration_ms as f64 / 1000.0,
        human(identity),
        human(br),
        pct(br),
        r.brotli_files,
        human(gzip),
        pct(gzip),
        r.gzip_files,
        r.cache_hits,
        r.history_hits,
        r.cache_misses,
        r.delta_files,
        r.delta_hits,
        r.delta_computed,
        r.deploy,
        r.deploys
            .iter()
            .map(|d| format!("{} ({} files)", d.id, d.files))
            .collect::<Vec<_>>()
            .join(", "),
        if r.dropped.is_empty() {
            String::new()
        } else {
            format!(
                "; dropped {}",
                r.dropped
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        if r.warnings.is_empty() {
            String::new()
        } else {
            format!("\n  {} warning(s)", r.warnings.len())
        }
    )
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A terminal progress bar on standard error.
struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    fn new() -> Self {
        Bar {
            bar: indicatif::ProgressBar::new(0),
        }
    }
}

impl Progress for Bar {
    fn start(&self, phase: Phase, total: u64) {
        let (label, template) = match phase {
            Phase::Read => ("reading", "{msg:>11} [{bar:30}] {pos}/{len} files"),
            Phase::History => ("history", "{msg:>11} [{bar:30}] {pos}/{len} files"),
            Phase::Deltas => (
                "deltas",
                "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            Phase::Compress => (
                "compressing",
                "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            Phase::Write => ("writing", "{msg:>11} [{bar:30}] {pos}/{len} files"),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(label);
        self.bar.set_length(total);
        self.bar.set_position(0);
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
}
