//! The log line of a finished job run (one JSON object: what ran where, how it went, how late).

use super::book::{Outcome, Run, Start};

/// The line logged when `start` ended with `outcome` after `failures` (origin, why) — `run` is
/// its entry in the book, `now_ms` the end.
pub fn run_line(
    start: &Start,
    outcome: &Outcome,
    failures: &[(String, String)],
    run: Option<&Run>,
    now_ms: u64,
) -> String {
    let (status, error) = match outcome {
        Outcome::Succeeded { status } => (Some(*status), None),
        Outcome::Failed { why } => (None, Some(why.as_str())),
    };
    serde_json::json!({
        "event": "job",
        "key": start.key,
        "origin": run.and_then(|r| r.origin.as_deref()),
        "attempts": run.map(|r| r.attempts),
        "status": status,
        "error": error,
        "lateness_ms": start.lateness_ms,
        "duration_ms": now_ms.saturating_sub(run.map_or(0, |r| r.recorded_ms)),
        "failed_origins": failures.len(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::RunState;

    #[test]
    fn a_line_says_where_how_and_how_late() {
        let start = Start {
            job: "mail".into(),
            scheduled_s: 60,
            key: "mail@60".into(),
            lateness_ms: 7,
        };
        let run = Run {
            key: "mail@60".into(),
            scheduled_s: 60,
            state: RunState::Pending,
            recorded_ms: 60_007,
            lateness_ms: 7,
            deadline_ms: 120_000,
            origin: Some("http://b".into()),
            attempts: 2,
            finished_ms: None,
        };
        let failures = vec![("http://a".to_string(), "status 503".to_string())];
        let ok = Outcome::Succeeded { status: 200 };
        let v: serde_json::Value =
            serde_json::from_str(&run_line(&start, &ok, &failures, Some(&run), 60_507)).unwrap();
        assert_eq!(v["event"], "job");
        assert_eq!(v["origin"], "http://b");
        assert_eq!(
            (v["attempts"].as_u64(), v["status"].as_u64()),
            (Some(2), Some(200))
        );
        assert_eq!(
            (v["duration_ms"].as_u64(), v["lateness_ms"].as_u64()),
            (Some(500), Some(7))
        );
        assert_eq!(v["failed_origins"], 1);
        assert!(v["error"].is_null());
        let failed = Outcome::Failed {
            why: "every origin failed".into(),
        };
        let v: serde_json::Value =
            serde_json::from_str(&run_line(&start, &failed, &[], None, 1)).unwrap();
        assert_eq!(v["error"], "every origin failed");
        assert!(v["status"].is_null() && v["origin"].is_null());
    }
}
