//! What an attempt at an origin gave, and whether a request may be sent again after it.

use http::Method;

/// What one attempt to reach an origin gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The origin answered with this final status (200–599).
    Answered(u16),
    /// No connection could be made: the request never reached the origin.
    Refused,
    /// The connection failed after the request may have reached the origin (reset, lost).
    Lost,
    /// No answer within the attempt's timeout.
    TimedOut,
    /// The origin sent something that is not a valid final response (a status outside
    /// 200–599, an unparseable head).
    Invalid,
    /// The client's request body broke off while it was being sent (the client hung up, or
    /// sent less than it declared), or stalled (nothing came for the attempt timeout): the
    /// request's fault, not the origin's. It never counts
    /// against the origin's health and is never retried: otherwise a client that aborts its
    /// uploads could get healthy origins ejected.
    ClientAborted,
}

impl Outcome {
    /// The outcome of an answer with `status`: a final status, or [`Outcome::Invalid`].
    /// (Interim 1xx responses never reach here: the runtime consumes them.)
    pub fn of_status(status: u16) -> Self {
        if (200..=599).contains(&status) {
            Outcome::Answered(status)
        } else {
            Outcome::Invalid
        }
    }

    /// A failure of the origin (not of the request): counts against its health and may be
    /// retried elsewhere. An application's own 500 is its answer, not an outage; 502/503/504
    /// say the origin (or what is behind it) cannot answer now.
    pub fn is_failure(self) -> bool {
        match self {
            Outcome::Answered(s) => (502..=504).contains(&s),
            Outcome::ClientAborted => false,
            _ => true,
        }
    }

    /// Whether the origin may have received (and acted on) the request.
    pub fn may_have_reached_origin(self) -> bool {
        !matches!(self, Outcome::Refused)
    }
}

/// How the request's body can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body at all.
    None,
    /// Buffered at the edge: can be sent again.
    Buffered,
    /// Streamed from the client: can be sent once.
    Streamed,
}

impl BodyKind {
    /// Whether the body can be sent a second time.
    pub fn replayable(self) -> bool {
        !matches!(self, BodyKind::Streamed)
    }

    /// The body for the next attempt: a copy of a replayable one, a streamed one only once
    /// (taken: the attempts after it go without).
    pub fn for_attempt<B: Clone>(self, body: &mut Option<B>) -> Option<B> {
        if self.replayable() {
            body.clone()
        } else {
            body.take()
        }
    }
}

/// Limits on attempts at origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Time for all attempts together, from the first; each attempt's timeout is cut to what
    /// is left.
    pub deadline_ms: u64,
    /// Longest wait for one attempt's response head once its request has been sent (and for
    /// progress while a streamed body is sent).
    pub attempt_timeout_ms: u64,
}

/// Safe methods (RFC 9110 §9.2.1): read-only by definition. Every other method, extension
/// methods included, is a write.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Idempotent methods (RFC 9110 §9.2.2): sending one twice has the effect of sending it once.
pub fn is_idempotent(method: &Method) -> bool {
    is_safe(method) || matches!(*method, Method::PUT | Method::DELETE)
}

/// Whether a request that met `outcome` may be sent again (to another origin). A request is
/// never sent twice once its bytes may have reached an origin unless its method is idempotent,
/// and a streamed body cannot be sent twice at all.
pub fn may_resend(method: &Method, body: BodyKind, outcome: Outcome) -> bool {
    outcome.is_failure()
        && body.replayable()
        && (is_idempotent(method) || !outcome.may_have_reached_origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_answers() {
        for (o, failure) in [
            (Outcome::Answered(200), false),
            (Outcome::Answered(404), false),
            (Outcome::Answered(500), false),
            (Outcome::Answered(502), true),
            (Outcome::Answered(503), true),
            (Outcome::Answered(504), true),
            (Outcome::Refused, true),
            (Outcome::Lost, true),
            (Outcome::TimedOut, true),
            (Outcome::Invalid, true),
            (Outcome::ClientAborted, false),
        ] {
            assert_eq!(o.is_failure(), failure, "{o:?}");
        }
        assert_eq!(Outcome::of_status(999), Outcome::Invalid);
        assert_eq!(Outcome::of_status(103), Outcome::Invalid);
        assert_eq!(Outcome::of_status(599), Outcome::Answered(599));
    }

    #[test]
    fn methods() {
        for m in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            let m: Method = m.parse().unwrap();
            assert!(is_safe(&m) && is_idempotent(&m), "{m}");
        }
        for m in ["PUT", "DELETE"] {
            let m: Method = m.parse().unwrap();
            assert!(!is_safe(&m) && is_idempotent(&m), "{m}");
        }
        for m in ["POST", "PATCH", "PROPFIND", "M-SEARCH", "LOCK"] {
            let m: Method = m.parse().unwrap();
            assert!(!is_safe(&m) && !is_idempotent(&m), "{m}");
        }
    }

    #[test]
    fn resending_rules() {
        use BodyKind::*;
        use Outcome::*;
        let get = Method::GET;
        let post = Method::POST;
        let put = Method::PUT;
        let cases = [
            (&get, None, Refused, true),
            (&get, None, TimedOut, true),
            (&get, None, Answered(503), true),
            (&get, None, Answered(500), false),
            (&put, Buffered, Lost, true),
            (&put, Streamed, Refused, false),
            (&post, None, Refused, true),
            (&post, Buffered, Refused, true),
            (&post, Buffered, Lost, false),
            (&post, Buffered, TimedOut, false),
            (&post, Buffered, Answered(503), false),
            (&post, Streamed, Refused, false),
        ];
        for (m, body, outcome, want) in cases {
            assert_eq!(
                may_resend(m, body, outcome),
                want,
                "{m} {body:?} {outcome:?}"
            );
        }
    }
}
