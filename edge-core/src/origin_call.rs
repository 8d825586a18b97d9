//! Requests the edge makes on its own — health probes and job runs — as data. The glue sends
//! each with one function (signed like client traffic, bounded by its timeout); what to send,
//! and what the answer means, are decided here.

use crate::balancer::health::HealthCheck;
use crate::balancer::retry::Outcome;
use crate::jobs::dispatch::Attempt;
use crate::jobs::Job;

/// One request of the edge's own to an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header fields to send (the origin signature is added by the glue).
    pub headers: Vec<(String, String)>,
    /// A body to send (`Some("")` for an empty one: a POST gets `Content-Length: 0`).
    pub body: Option<String>,
    /// Time allowed for the answer's head.
    pub timeout_ms: u64,
    /// Whether the answer's body is read (else it is left unread).
    pub read_body: bool,
}

impl Call {
    /// The active health probe `check` describes.
    pub fn probe(check: &HealthCheck) -> Self {
        let mut headers = check.headers.clone();
        headers.push(("user-agent".into(), "edge-worker health check".into()));
        Call {
            method: check.method.clone(),
            path: check.path.clone(),
            headers,
            body: None,
            timeout_ms: check.timeout_ms,
            read_body: check.expected_body.is_some(),
        }
    }

    /// One attempt at the run `run_key` of `job`: every origin gets the same key, so the run
    /// executes at most once however many are tried.
    pub fn job(job: &Job, run_key: &str) -> Self {
        Call {
            method: job.method.clone(),
            path: job.path.clone(),
            headers: vec![
                ("idempotency-key".into(), run_key.into()),
                ("user-agent".into(), "edge-worker scheduled job".into()),
            ],
            body: (job.method != "GET").then(String::new),
            timeout_ms: job.timeout_ms,
            // Read whole (it is small): an unread body would hold the connection.
            read_body: true,
        }
    }
}

/// Why a probe that got no answer failed.
pub fn probe_failure(outcome: Outcome, timeout_ms: u64) -> String {
    match outcome {
        Outcome::TimedOut => format!("no answer within {timeout_ms} ms"),
        _ => "connection failed".into(),
    }
}

/// A job run's answer: its status, and the first execution's when the origin replayed it from
/// its idempotency store (`Idempotency-Replayed: true`; the replayed body's `status` field says
/// how that went, else the answer's own status stands).
pub fn job_answer(status: u16, replayed_header: Option<&str>, body: &str) -> Attempt {
    let replayed = replayed_header
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        .then(|| {
            serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("status").and_then(serde_json::Value::as_u64))
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(status)
        });
    Attempt::Answered { status, replayed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Schedule;

    fn job(method: &str) -> Job {
        Job {
            name: "mail".into(),
            schedule: Schedule::parse("every 60s").unwrap(),
            pool: "p".into(),
            path: "/_jobs/append?x=1".into(),
            method: method.into(),
            timeout_ms: 5000,
            max_run_s: 60,
        }
    }

    #[test]
    fn a_job_call_carries_its_run_key_and_an_empty_body_unless_get() {
        let c = Call::job(&job("POST"), "mail@60");
        assert_eq!(c.path, "/_jobs/append?x=1");
        assert!(c
            .headers
            .contains(&("idempotency-key".into(), "mail@60".into())));
        assert_eq!(c.body.as_deref(), Some(""));
        assert!(c.read_body);
        assert_eq!(Call::job(&job("GET"), "mail@60").body, None);
    }

    #[test]
    fn a_probe_call_has_the_checks_headers_and_reads_the_body_only_when_judged() {
        let mut check = HealthCheck {
            method: "HEAD".into(),
            path: "/health".into(),
            headers: vec![("host".into(), "shop.test".into())],
            timeout_ms: 900,
            expected_codes: vec![200],
            expected_body: None,
            healthy_threshold: 1,
            unhealthy_threshold: 1,
            ttl_s: 60,
        };
        let c = Call::probe(&check);
        assert_eq!(
            (c.method.as_str(), c.timeout_ms, c.read_body),
            ("HEAD", 900, false)
        );
        assert_eq!(c.headers.len(), 2);
        check.expected_body = Some("ok".into());
        assert!(Call::probe(&check).read_body);
        assert_eq!(
            probe_failure(Outcome::TimedOut, 900),
            "no answer within 900 ms"
        );
        assert_eq!(probe_failure(Outcome::Refused, 900), "connection failed");
    }

    #[test]
    fn replayed_answers_report_the_first_execution() {
        let table = [
            (200, None, "", None),
            (200, Some("true"), r#"{"status":500}"#, Some(500)),
            (200, Some("TRUE"), "not json", Some(200)),
            (200, Some("false"), r#"{"status":500}"#, None),
            (201, Some("true"), r#"{"status":70000}"#, Some(201)),
        ];
        for (status, header, body, want) in table {
            assert_eq!(
                job_answer(status, header, body),
                Attempt::Answered {
                    status,
                    replayed: want
                },
                "{header:?} {body}"
            );
        }
    }
}
