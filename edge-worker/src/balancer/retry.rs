//! When a failed attempt is tried again on another origin.

use http::Method;

/// What one attempt to reach an origin gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The origin answered with this status.
    Status(u16),
    /// No connection (refused, reset, DNS): nothing was processed.
    ConnectError,
    /// No answer within the attempt's timeout.
    Timeout,
}

impl Outcome {
    /// A failure of the origin (not of the request): counts against its health and may be
    /// retried elsewhere. An application's own 500 is its answer, not an outage.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::ConnectError | Outcome::Timeout | Outcome::Status(502..=504)
        )
    }
}

/// Limits on retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Time for all attempts together.
    pub deadline_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            deadline_ms: 10_000,
        }
    }
}

/// Methods that may be sent twice (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether to try again after `outcome` on attempt number `attempt` (1-based), `elapsed_ms`
/// into the request. A non-idempotent request is never sent twice: once its bytes may have
/// reached an origin, only that origin knows whether it was applied.
pub fn should_retry(
    method: &Method,
    outcome: Outcome,
    attempt: u32,
    elapsed_ms: u64,
    policy: &RetryPolicy,
) -> bool {
    outcome.is_failure()
        && is_idempotent(method)
        && attempt < policy.max_attempts
        && elapsed_ms < policy.deadline_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_idempotent_failures_within_limits() {
        let p = RetryPolicy::default();
        assert!(should_retry(&Method::GET, Outcome::ConnectError, 1, 0, &p));
        assert!(should_retry(&Method::GET, Outcome::Status(503), 2, 0, &p));
        assert!(should_retry(&Method::PUT, Outcome::Timeout, 1, 0, &p));
        assert!(
            !should_retry(&Method::GET, Outcome::Status(500), 1, 0, &p),
            "an app error is an answer"
        );
        assert!(!should_retry(&Method::GET, Outcome::Status(404), 1, 0, &p));
        assert!(
            !should_retry(&Method::GET, Outcome::ConnectError, 3, 0, &p),
            "attempts are bounded"
        );
        assert!(
            !should_retry(&Method::GET, Outcome::ConnectError, 1, 10_000, &p),
            "so is time"
        );
    }

    #[test]
    fn never_replays_non_idempotent_requests() {
        let p = RetryPolicy::default();
        for m in [Method::POST, Method::PATCH] {
            for o in [
                Outcome::ConnectError,
                Outcome::Timeout,
                Outcome::Status(502),
            ] {
                assert!(!should_retry(&m, o, 1, 0, &p), "{m} {o:?}");
            }
        }
    }
}
