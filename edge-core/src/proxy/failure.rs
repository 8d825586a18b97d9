//! Reading a failed fetch: the runtime's error message says whether a connection was never
//! made (nothing reached the origin: any request may go elsewhere) or was lost after the
//! request may have been sent (only idempotent ones may).

use super::entry_protocol;
use crate::balancer::retry::Outcome;

/// Phrases workerd (and the Node/undici stack behind Miniflare) use when no connection could be
/// made. Matched case-insensitively; anything else counts as lost.
const NEVER_CONNECTED: [&str; 6] = [
    "connection refused",
    "econnrefused",
    "connect failed",
    "dns lookup failed",
    "no such host",
    "network unreachable",
];

/// The outcome of a fetch that failed with `message` (timeouts are recognised by name before).
pub fn classify(message: &str) -> Outcome {
    let m = message.to_ascii_lowercase();
    if NEVER_CONNECTED.iter().any(|p| m.contains(p)) {
        Outcome::Refused
    } else {
        Outcome::Lost
    }
}

/// The name the glue gives a fetch's error when the client's request body broke off while it
/// was being sent (the runtime's own message for that is the same as for a lost origin).
pub const CLIENT_BODY_ERROR: &str = "ClientBodyError";

/// The outcome of a fetch that threw the error named `name` with `message`: a timeout when the
/// request's abort signal fired (`TimeoutError`, or `AbortError` where the runtime says so),
/// the client's fault when its body broke off ([`CLIENT_BODY_ERROR`]), the outcome a socket
/// attempt named ([`entry_protocol::OUTCOME_ERROR`]), else see [`classify`].
pub fn of_error(name: Option<&str>, message: Option<&str>) -> Outcome {
    match (name, message) {
        (Some("TimeoutError" | "AbortError"), _) => Outcome::TimedOut,
        (Some(CLIENT_BODY_ERROR), _) => Outcome::ClientAborted,
        (Some(entry_protocol::OUTCOME_ERROR), m) => {
            let named = [Outcome::Refused, Outcome::TimedOut, Outcome::Invalid];
            let named = named
                .into_iter()
                .find(|&o| m == Some(entry_protocol::outcome_message(o)));
            named.unwrap_or(Outcome::Lost)
        }
        (_, m) => classify(m.unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_losses() {
        assert_eq!(classify("Network connection lost."), Outcome::Lost);
        assert_eq!(
            classify("connect ECONNREFUSED 127.0.0.1:9"),
            Outcome::Refused
        );
        assert_eq!(
            classify(""),
            Outcome::Lost,
            "unknown means it may have reached the origin"
        );
    }

    #[test]
    fn thrown_errors_by_name_then_message() {
        let table = [
            (
                Some("TimeoutError"),
                Some("connection refused"),
                Outcome::TimedOut,
            ),
            (Some("AbortError"), None, Outcome::TimedOut),
            (
                Some("TypeError"),
                Some("Network connection refused"),
                Outcome::Refused,
            ),
            (
                Some("TypeError"),
                Some("Network connection lost."),
                Outcome::Lost,
            ),
            (None, None, Outcome::Lost),
            (
                Some(CLIENT_BODY_ERROR),
                Some("Network connection lost."),
                Outcome::ClientAborted,
            ),
        ];
        for (name, message, want) in table {
            assert_eq!(of_error(name, message), want, "{name:?} {message:?}");
        }
    }
}
