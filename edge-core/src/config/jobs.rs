//! `[[vars.EDGE.jobs]]`: scheduled jobs the coordinator sends to one healthy origin of a pool,
//! exactly once per scheduled instant.

use std::collections::BTreeMap;

use super::key_path::{ConfigError, KeyPath, Validate};
use super::raw::RawJob;
use crate::balancer::Pool;
use crate::jobs::cron::MAX_EVERY_S;
use crate::jobs::{Job, Schedule};
use crate::token::is_token;

pub(super) fn validate(
    raw: &[RawJob],
    pools: &BTreeMap<String, Pool>,
    at: &KeyPath,
) -> Result<Vec<Job>, ConfigError> {
    let mut jobs: Vec<Job> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let here = at.index(i);
        let job = (r, pools).validate(&here)?;
        if let Some(j) = jobs.iter().position(|o| o.name == job.name) {
            return Err(here
                .key("name")
                .error(format!("`{}` is also the name of jobs[{j}]", job.name)));
        }
        jobs.push(job);
    }
    Ok(jobs)
}

impl Validate for (&RawJob, &BTreeMap<String, Pool>) {
    type Output = Job;

    fn validate(&self, at: &KeyPath) -> Result<Job, ConfigError> {
        let (r, pools) = *self;
        let name = match &r.name {
            None => {
                return Err(at
                    .key("name")
                    .error("missing: a unique name, like \"cleanup\""))
            }
            Some(n) if !is_token(n) => {
                return Err(at.key("name").error(format!(
                    "`{n}` must be a token: letters, digits and !#$%&'*+-.^_`|~ (no spaces, no `@`)"
                )))
            }
            Some(n) => n.clone(),
        };
        let schedule = match (&r.schedule, r.every_s) {
            (Some(_), Some(_)) => {
                return Err(at
                    .key("every_s")
                    .error("set either schedule or every_s, not both"))
            }
            (None, None) => {
                return Err(at.key("schedule").error(
                    "missing: a five-field cron schedule in UTC, like \"*/5 * * * *\" (or every_s = N for development)",
                ))
            }
            (None, Some(s)) => Schedule::Every {
                seconds: at.key("every_s").in_range(s, 1, MAX_EVERY_S)?,
            },
            (Some(text), None) => {
                let s = Schedule::parse(text)
                    .map_err(|why| at.key("schedule").error(format!("`{text}`: {why}")))?;
                if s.next_after(0).is_none() {
                    return Err(at.key("schedule").error(format!(
                        "`{text}` never fires: no month in it has that day of the month"
                    )));
                }
                s
            }
        };
        let pool = match &r.pool {
            None => {
                return Err(at
                    .key("pool")
                    .error("missing: the pool whose origins run the job"))
            }
            Some(p) if !pools.contains_key(p) => {
                return Err(at.key("pool").error(format!(
                    "unknown pool `{p}` (defined: {})",
                    pools.keys().cloned().collect::<Vec<_>>().join(", ")
                )))
            }
            Some(p) => p.clone(),
        };
        let path = match &r.path {
            None => {
                return Err(at
                    .key("path")
                    .error("missing: the path requested on the origin, like /_jobs/cleanup"))
            }
            Some(p) if !p.starts_with('/') => {
                return Err(at.key("path").error(format!("`{p}` must start with `/`")))
            }
            Some(p) if !p.bytes().all(|b| b.is_ascii_graphic() && b != b'#') => {
                return Err(at.key("path").error(format!(
                    "`{p}` must be a path and optional query in visible ASCII (percent-encode the rest; no `#`)"
                )))
            }
            Some(p) => p.clone(),
        };
        if !matches!(r.method.as_str(), "GET" | "POST" | "PUT") {
            return Err(at
                .key("method")
                .error(format!("`{}` must be GET, POST or PUT", r.method)));
        }
        let timeout_ms = at.key("timeout_ms").in_range(r.timeout_ms, 100, 900_000)?;
        let max_run_s = at.key("max_run_s").in_range(r.max_run_s, 1, 86_400)?;
        if timeout_ms > max_run_s * 1_000 {
            return Err(at.key("timeout_ms").error(format!(
                "{timeout_ms} is more than max_run_s ({max_run_s} s): a run would be given up while an origin may still be running it"
            )));
        }
        Ok(Job {
            name,
            schedule,
            pool,
            path,
            method: r.method.clone(),
            timeout_ms,
            max_run_s,
        })
    }
}
