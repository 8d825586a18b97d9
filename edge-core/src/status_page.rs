//! `/__edge/status`: the coordinator's view as an HTML page a person would rather look at than
//! the health JSON — pools and origins with their verdicts, probes and ejections, the last runs
//! of every job, the cache counters.
//!
//! The page is self-contained (inline CSS, no scripts, no external assets, so it works from any
//! browser with nothing else reachable), reloads itself every `refresh_s` seconds with a
//! `<meta http-equiv="refresh">`, and HTML-escapes every string it did not write itself (origin
//! URLs, reasons, job names, schedules). Times are shown in UTC with how long ago they were.
//! The glue fills a [`StatusSnapshot`] and calls [`render`]; nothing here reads a clock.

use cdn_manifest::civil::DateTime;

use crate::cache::counters::Counters;
use crate::jobs::book::{Book, JobCounts, Run, RunState};
use crate::jobs::Job;

/// Everything the page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusSnapshot {
    /// When the snapshot was taken, ms since the epoch: "generated at", and the base of "ago".
    pub now_ms: u64,
    /// Seconds between reloads; 0 for none.
    pub refresh_s: u64,
    /// Pools, in the order to show.
    pub pools: Vec<PoolStatus>,
    /// Jobs, in the order to show.
    pub jobs: Vec<JobStatus>,
    /// Cache counters, once there is a cache to count.
    pub cache: Option<Counters>,
}

/// One pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Its name.
    pub name: String,
    /// Its steering policy (`weighted_round_robin`, …).
    pub steering: String,
    /// Its origins.
    pub origins: Vec<OriginStatus>,
}

/// One origin of a pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginStatus {
    /// Its URL.
    pub url: String,
    /// Its weight.
    pub weight: u32,
    /// False when drained (`enabled = false`).
    pub enabled: bool,
    /// The active health verdict: up, down, or `None` when the pool has no checks.
    pub healthy: Option<bool>,
    /// What the last probe saw (`ok`, `status 503`, `timeout`, …).
    pub reason: Option<String>,
    /// Since when the verdict holds, ms since the epoch.
    pub since_ms: Option<u64>,
    /// When the last probe ran.
    pub checked_ms: Option<u64>,
    /// How long the last probe took.
    pub latency_ms: Option<u64>,
    /// Passive health: ejected until then (if in the future).
    pub ejected_until_ms: Option<u64>,
    /// Requests in flight to it.
    pub in_flight: u32,
}

/// One job and its recent runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStatus {
    /// Its name.
    pub name: String,
    /// Its schedule as configured (`*/15 * * * *`, `every 5s`).
    pub schedule: String,
    /// The pool that runs it.
    pub pool: String,
    /// When it is next due (Unix seconds), if ever.
    pub next_due_s: Option<u64>,
    /// Recent runs and skips, oldest first (as the book keeps them).
    pub runs: Vec<Run>,
    /// Totals since it entered the book.
    pub counts: JobCounts,
}

impl JobStatus {
    /// The status of `job` as `book` records it. A job the book does not know yet has no runs
    /// and is next due at its first instant after `now_ms`.
    pub fn from_book(job: &Job, book: &Book, now_ms: u64) -> Self {
        let entry = book.job(&job.name);
        JobStatus {
            name: job.name.clone(),
            schedule: job.schedule.to_string(),
            pool: job.pool.clone(),
            next_due_s: match entry {
                Some(b) => b.next_due_s(),
                None => job.schedule.next_after(now_ms / 1_000),
            },
            runs: entry.map(|b| b.runs().to_vec()).unwrap_or_default(),
            counts: entry.map(|b| b.counts()).unwrap_or_default(),
        }
    }
}

/// The status of every configured job, in configuration order.
pub fn job_statuses(jobs: &[Job], book: &Book, now_ms: u64) -> Vec<JobStatus> {
    jobs.iter()
        .map(|j| JobStatus::from_book(j, book, now_ms))
        .collect()
}

/// Runs shown per job, newest first.
pub const RUNS_SHOWN: usize = 25;

/// The longest self-refresh interval honoured (an hour).
const MAX_REFRESH_S: u64 = 3_600;

const STYLE: &str = "
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1d2330;--muted:#6b7280;--line:#e3e6eb;
--up:#12805c;--upbg:#e3f6ee;--down:#c0262d;--downbg:#fde8e8;--warn:#a15c00;--warnbg:#fff1db;
--info:#1f5fbf;--infobg:#e4eefc;--off:#5b6270;--offbg:#eceef1}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b1f27;--fg:#e6e8ec;--muted:#9aa3b2;
--line:#2b313c;--upbg:#133b2c;--up:#5fd3a3;--downbg:#4a1a1d;--down:#ff8a8f;--warnbg:#45320f;
--warn:#ffc266;--infobg:#17304f;--info:#8fbaff;--offbg:#2b313c;--off:#b5bcc8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
header{padding:20px 28px 8px}
main{padding:0 28px 28px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px}
h3{font-size:15px;margin:0;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.muted,small{color:var(--muted);font-weight:normal}
.summary{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0 0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:20px}
.tile.down{border-left:4px solid var(--down)}.tile.down b{color:var(--down)}
.tile.warn{border-left:4px solid var(--warn)}.tile.warn b{color:var(--warn)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:0 0 14px;overflow-x:auto}
.card p{margin:6px 0 10px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-top:1px solid var(--line);vertical-align:top;white-space:nowrap}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);border-top:0}
td.wrap{white-space:normal;min-width:14em}
td .rel{display:block;font-size:12px}
code{font:13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.b{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.up{color:var(--up);background:var(--upbg)}.down{color:var(--down);background:var(--downbg)}
.warn{color:var(--warn);background:var(--warnbg)}.info{color:var(--info);background:var(--infobg)}
.off{color:var(--off);background:var(--offbg)}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);padding:0 28px 24px;font-size:12px}
";

/// The page.
pub fn render(s: &StatusSnapshot) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let origins: Vec<&OriginStatus> = s.pools.iter().flat_map(|p| &p.origins).collect();
    let down = origins.iter().filter(|o| o.healthy == Some(false)).count();
    let ejected = origins
        .iter()
        .filter(|o| o.ejected_until_ms.is_some_and(|t| t > s.now_ms))
        .count();
    let available = origins
        .iter()
        .filter(|o| {
            o.enabled
                && o.healthy != Some(false)
                && o.ejected_until_ms.is_none_or(|t| t <= s.now_ms)
        })
        .count();
    let running = s
        .jobs
        .iter()
        .flat_map(|j| &j.runs)
        .filter(|r| r.is_pending())
        .count();
    let failed = s
        .jobs
        .iter()
        .fold(0u64, |n, j| n.saturating_add(j.counts.failed));

    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"robots\" content=\"noindex\">\n");
    let refresh = s.refresh_s.min(MAX_REFRESH_S);
    if refresh > 0 {
        out.push_str(&format!(
            "<meta http-equiv=\"refresh\" content=\"{refresh}\">\n"
        ));
    }
    let alert = if down > 0 {
        format!("({down} down) ")
    } else {
        String::new()
    };
    out.push_str(&format!("<title>{alert}Edge status</title>\n"));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));

    out.push_str("<header>\n<h1>Edge status</h1>\n");
    out.push_str(&format!(
        "<div class=\"muted\">Generated {} UTC{}</div>\n",
        utc_ms(s.now_ms),
        if refresh > 0 {
            format!(" · reloads every {refresh} s")
        } else {
            String::new()
        }
    ));
    out.push_str("<div class=\"summary\">\n");
    tile(
        &mut out,
        "Origins available",
        &format!("{available} / {}", origins.len()),
        if origins.is_empty() || available == origins.len() {
            ""
        } else if available == 0 {
            "down"
        } else {
            "warn"
        },
    );
    tile(
        &mut out,
        "Down (active checks)",
        &down.to_string(),
        if down > 0 { "down" } else { "" },
    );
    tile(
        &mut out,
        "Ejected (passive)",
        &ejected.to_string(),
        if ejected > 0 { "warn" } else { "" },
    );
    tile(&mut out, "Jobs", &s.jobs.len().to_string(), "");
    tile(&mut out, "Runs going", &running.to_string(), "");
    tile(
        &mut out,
        "Runs failed",
        &failed.to_string(),
        if failed > 0 { "warn" } else { "" },
    );
    out.push_str("</div>\n</header>\n<main>\n");

    pools(&mut out, s);
    jobs(&mut out, s);
    cache(&mut out, s);

    out.push_str("</main>\n<footer>Times in UTC. Active verdicts come from the coordinator's probes; passive ejections and requests in flight are counted per isolate.</footer>\n</body>\n</html>\n");
    out
}

fn tile(out: &mut String, label: &str, value: &str, class: &str) {
    out.push_str(&format!(
        "<div class=\"tile {class}\"><span class=\"muted\">{}</span><b>{}</b></div>\n",
        esc(label),
        esc(value)
    ));
}

fn pools(out: &mut String, s: &StatusSnapshot) {
    out.push_str("<section id=\"pools\">\n<h2>Pools and origins</h2>\n");
    if s.pools.is_empty() {
        out.push_str("<p class=\"empty\">No pools configured.</p>\n</section>\n");
        return;
    }
    for pool in &s.pools {
        out.push_str(&format!(
            "<div class=\"card\">\n<h3>{} <small>{}</small></h3>\n",
            esc(&pool.name),
            esc(&pool.steering)
        ));
        if pool.origins.is_empty() {
            out.push_str("<p class=\"empty\">No origins.</p>\n</div>\n");
            continue;
        }
        out.push_str("<table>\n<thead><tr><th>Origin</th><th>Weight</th><th>State</th><th>Active check</th><th>Since</th><th>Last probe</th><th>Latency</th><th>Ejected until</th><th>In flight</th></tr></thead>\n<tbody>\n");
        for o in &pool.origins {
            let ejected = o.ejected_until_ms.filter(|t| *t > s.now_ms);
            let state = if !o.enabled {
                badge("off", "drained")
            } else if ejected.is_some() {
                badge("warn", "ejected")
            } else if o.healthy == Some(false) {
                badge("down", "down")
            } else {
                badge("up", "in rotation")
            };
            let verdict = match o.healthy {
                Some(true) => badge("up", "up"),
                Some(false) => badge("down", "down"),
                None => badge("off", "not checked"),
            };
            let reason = o
                .reason
                .as_deref()
                .map(|r| format!(" <span class=\"muted\">{}</span>", esc(r)))
                .unwrap_or_default();
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{state}</td><td class=\"wrap\">{verdict}{reason}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&o.url),
                o.weight,
                when(o.since_ms, s.now_ms),
                when(o.checked_ms, s.now_ms),
                o.latency_ms.map_or_else(dash, duration),
                ejected.map_or_else(dash, |t| when(Some(t), s.now_ms)),
                o.in_flight
            ));
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    out.push_str("</section>\n");
}

fn jobs(out: &mut String, s: &StatusSnapshot) {
    out.push_str("<section id=\"jobs\">\n<h2>Jobs</h2>\n");
    if s.jobs.is_empty() {
        out.push_str("<p class=\"empty\">No jobs configured.</p>\n</section>\n");
        return;
    }
    for job in &s.jobs {
        let c = &job.counts;
        out.push_str(&format!(
            "<div class=\"card\">\n<h3>{} <small><code>{}</code> · pool {}</small></h3>\n",
            esc(&job.name),
            esc(&job.schedule),
            esc(&job.pool)
        ));
        out.push_str(&format!(
            "<p>Next due: {} · started {} · succeeded {} · failed {} · skipped (still going) {} · missed {}</p>\n",
            job.next_due_s
                .map_or_else(|| "never".into(), |t| when(t.checked_mul(1_000), s.now_ms)),
            c.started,
            c.succeeded,
            c.failed,
            c.skipped,
            c.missed
        ));
        if job.runs.is_empty() {
            out.push_str("<p class=\"empty\">No runs yet.</p>\n</div>\n");
            continue;
        }
        out.push_str("<table>\n<thead><tr><th>Scheduled (UTC)</th><th>Outcome</th><th>Origin</th><th>Attempts</th><th>Duration</th><th>Lateness</th><th>Key</th></tr></thead>\n<tbody>\n");
        for run in job.runs.iter().rev().take(RUNS_SHOWN) {
            let (outcome, duration_cell) = match &run.state {
                RunState::Pending => (
                    badge("info", "running"),
                    format!(
                        "{} so far",
                        duration(s.now_ms.saturating_sub(run.recorded_ms))
                    ),
                ),
                RunState::Succeeded { status } => (
                    badge("up", &format!("ok {status}")),
                    run.duration_ms().map_or_else(dash, duration),
                ),
                RunState::Failed { why } => (
                    format!(
                        "{} <span class=\"muted\">{}</span>",
                        badge("down", "failed"),
                        esc(why)
                    ),
                    run.duration_ms().map_or_else(dash, duration),
                ),
                RunState::Skipped {
                    why,
                    instants,
                    last_s,
                } => {
                    let span = if *instants > 1 {
                        format!(
                            " ×{instants}, through {}",
                            utc_ms(last_s.saturating_mul(1_000))
                        )
                    } else {
                        String::new()
                    };
                    (
                        format!(
                            "{} <span class=\"muted\">{}{}</span>",
                            badge("warn", "skipped"),
                            esc(why),
                            esc(&span)
                        ),
                        dash(),
                    )
                }
            };
            let is_run = !matches!(run.state, RunState::Skipped { .. });
            out.push_str(&format!(
                "<tr><td>{}</td><td class=\"wrap\">{outcome}</td><td>{}</td><td>{}</td><td>{duration_cell}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                utc_ms(run.scheduled_s.saturating_mul(1_000)),
                run.origin
                    .as_deref()
                    .map_or_else(dash, |o| format!("<code>{}</code>", esc(o))),
                if is_run { run.attempts.to_string() } else { dash() },
                duration(run.lateness_ms),
                esc(&run.key)
            ));
        }
        out.push_str("</tbody>\n</table>\n");
        if job.runs.len() > RUNS_SHOWN {
            out.push_str(&format!(
                "<p class=\"muted\">The latest {RUNS_SHOWN} of {} entries.</p>\n",
                job.runs.len()
            ));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn cache(out: &mut String, s: &StatusSnapshot) {
    out.push_str("<section id=\"cache\">\n<h2>Cache</h2>\n");
    let Some(c) = &s.cache else {
        out.push_str("<p class=\"empty\">No cache counters.</p>\n</section>\n");
        return;
    };
    // In u64, not u128 (128-bit division and formatting cost the Wasm worker 2.5 KB): counters
    // are scaled down until four of them times 1,000 cannot overflow, which changes nothing
    // below 2^52 and keeps the ratio to the permille above.
    let biggest = [c.hit, c.stale, c.miss, c.bypass]
        .into_iter()
        .max()
        .unwrap_or(0);
    let shift = (u64::BITS - biggest.leading_zeros()).saturating_sub(52);
    let [hit, stale, miss, bypass] = [c.hit, c.stale, c.miss, c.bypass].map(|n| n >> shift);
    let served = hit + stale + miss + bypass;
    let from_cache = (hit + stale) * 1_000;
    let ratio = match from_cache.checked_div(served) {
        None => dash(),
        Some(permille) => format!("{}.{} %", permille / 10, permille % 10),
    };
    out.push_str("<div class=\"card\">\n<table>\n<thead><tr><th>Hit</th><th>Stale</th><th>Miss</th><th>Bypass</th><th>Collapsed</th><th>Stored</th><th>Served from cache</th></tr></thead>\n<tbody>\n");
    out.push_str(&format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{ratio}</td></tr>\n",
        c.hit, c.stale, c.miss, c.bypass, c.collapsed, c.stored
    ));
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"b {class}\">{}</span>", esc(text))
}

fn dash() -> String {
    "<span class=\"muted\">–</span>".into()
}

/// An instant as UTC with how long ago (or how soon) it is.
fn when(t_ms: Option<u64>, now_ms: u64) -> String {
    let Some(t) = t_ms else {
        return dash();
    };
    let rel = if t <= now_ms {
        format!("{} ago", duration(now_ms - t))
    } else {
        format!("in {}", duration(t - now_ms))
    };
    format!("{} <small class=\"rel\">({rel})</small>", utc_ms(t))
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
fn utc_ms(t_ms: u64) -> String {
    let t = DateTime::from_unix(t_ms / 1_000);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 5 min`, `3 d 4 h`.
fn duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{}.{} s", ms / 1_000, ms % 1_000 / 100),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
        3_600_000..=86_399_999 => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
        _ => format!("{} d {} h", ms / 86_400_000, ms % 86_400_000 / 3_600_000),
    }
}

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
