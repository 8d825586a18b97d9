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
}

fn main() -> ExitCode {
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
         cache    {} reused, {} compressed{}",
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
        r.cache_misses,
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
