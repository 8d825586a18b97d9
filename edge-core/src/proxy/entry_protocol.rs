//! The calls between the worker's JavaScript entry (`edge-worker/js/entry.mjs`) and an
//! [`Exchange`](super::exchange::Exchange), whose exports are `edge-worker/src/driven.rs`: one
//! synchronous call per step, text in and text out. The texts are written here, once, so that
//! their format is tested natively; the entry parses them.
//!
//! A request with no body, on a proxy route that does not cache (or a session's GET or HEAD on
//! one that does), is carried out by the entry with the runtime's own calls, asking the
//! exchange at each step. Driven from Rust, the same work crossed between Wasm and JavaScript
//! about 35 times per request (each call runs wasm-bindgen's shims, each `await` its promise
//! glue) and cost 1.15× the CPU of a bare Rust forwarder. Every other request (assets, caching
//! routes, uploads) goes to the Rust handler, as does one the core refuses here (it reads it
//! again and answers).
//!
//! The calls (`h`: the handle `edge_begin` gave); a proxied GET that succeeds makes two:
//! - `edge_begin(method, url, fields, has_body)`: `undefined` for the Rust handler, else
//!   [`began`]: a line `h refresh` (refresh `1`: update the coordinator's snapshot in the
//!   background, `edge_refresh`), then the first [`step`];
//! - `edge_report(h, status, fields, error name, error message)` after each attempt: [`respond`]
//!   (the exchange is then over); or `K` (keep this answer for a give-up that passes it on) or
//!   `N` (drop it), then the next [`step`]; or [`INTERCEPT`]: the route shows its own page for
//!   this answer's error (`edge_answer` with its status); or `A`: the edge answers
//!   (`edge_answer`);
//! - `edge_respond(h, status, fields)`: [`respond`], for the kept answer (`undefined`: the route
//!   shows its own page instead, `edge_answer`);
//! - `edge_interim(h, headers, resp)`: the attempt over a socket of its own, rejected with an
//!   [`OUTCOME_ERROR`] (see [`outcome_message`]) when it fails;
//! - `edge_end(h)` when a request ends otherwise (an answer of the edge's own, a failure, a
//!   cancelled request: an attempt still in flight is abandoned): [`flush_ms`];
//! - `edge_failed(method, url, why)`: the 500 for a step that threw, logged.

use super::exchange::{Outgoing, Reply};
use crate::balancer::retry::Outcome;
use crate::decimal::push_u64;
use crate::header_edits::HeaderEdits;

/// The name of the error `edge_interim` rejects with; its message is [`outcome_message`].
pub const OUTCOME_ERROR: &str = "EdgeOutcome";

/// `edge_report`'s answer when the route shows its own page for the answer's error.
pub const INTERCEPT: &str = "I";

/// `edge_begin`'s answer before the first step: the exchange's handle `h`, and whether to
/// refresh the coordinator's snapshot in the background.
pub fn began(h: u64, refresh: bool) -> String {
    let mut out = String::with_capacity(512);
    push_u64(&mut out, h);
    out.push_str(if refresh { " 1\n" } else { " 0\n" });
    out
}

/// Appends a step to `out`: the attempt `next` — `a`, then one line each for the method, the
/// URL, the timeout in ms and the transport (`s`: a `socket` of its own, `f`: `fetch`), then the
/// header edits ([`HeaderEdits::encode`], the signature included) — or, when the attempts
/// ended, the end's code ([`Reply::code`]: `L` pass the kept answer on, `A` the edge answers).
/// Edits that cannot be encoded end the attempts with `A`.
pub fn step(next: Result<Outgoing, Reply>, socket: bool, out: &mut String) {
    let a = match next {
        Ok(a) => a,
        Err(end) => return out.push(end.code()),
    };
    let start = out.len();
    for line in ["a", &a.method, &a.url] {
        out.push_str(line);
        out.push('\n');
    }
    push_u64(out, a.timeout_ms);
    out.push_str(if socket { "\ns\n" } else { "\nf\n" });
    if a.edits.encode_into(out).is_err() {
        out.truncate(start);
        out.push(Reply::Answer.code());
    }
}

/// The answer that makes an origin's answer the client's: `R`, then [`flush_ms`] and a line
/// break, then the `edits` to its fields ([`HeaderEdits::encode`]). `None` when the edits cannot
/// be encoded (the edge answers instead).
pub fn respond(flush: Option<u64>, edits: &HeaderEdits) -> Option<String> {
    let mut out = String::with_capacity(256);
    out.push('R');
    let ms = flush_ms(flush);
    if ms < 0 {
        out.push('-');
    }
    push_u64(&mut out, ms.unsigned_abs());
    out.push('\n');
    edits.encode_into(&mut out).ok()?;
    Some(out)
}

/// When to write the request log held (`edge_flush_log`): after `flush` ms, or -1 for nothing
/// to schedule (no line held, or a write already scheduled).
pub fn flush_ms(flush: Option<u64>) -> i64 {
    flush.map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The message of the [`OUTCOME_ERROR`] for a failed socket attempt's `outcome`
/// ([`super::failure::of_error`] reads it back).
pub fn outcome_message(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Refused => "refused",
        Outcome::TimedOut => "timed out",
        Outcome::Invalid => "invalid",
        _ => "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::failure;

    fn attempt(edits: HeaderEdits) -> Outgoing {
        Outgoing {
            method: "GET".into(),
            url: "http://127.0.0.1:8001/a?b".into(),
            timeout_ms: 2500,
            edits,
        }
    }

    #[test]
    fn an_attempt_is_five_lines_then_its_edits() {
        let edits = HeaderEdits {
            remove: vec!["cookie".into()],
            set: vec![("x-edge-auth", "v2;t=1".into())],
            ..HeaderEdits::default()
        };
        let mut out = began(7, true);
        step(Ok(attempt(edits)), false, &mut out);
        assert_eq!(
            out,
            "7 1\na\nGET\nhttp://127.0.0.1:8001/a?b\n2500\nf\n-cookie\n=x-edge-auth\nv2;t=1\n"
        );
        let mut out = String::from("K");
        step(Ok(attempt(HeaderEdits::default())), true, &mut out);
        assert_eq!(out, "Ka\nGET\nhttp://127.0.0.1:8001/a?b\n2500\ns\n");
    }

    #[test]
    fn the_end_of_the_attempts_is_its_code() {
        for (end, code) in [(Reply::Last, "NL"), (Reply::Answer, "NA")] {
            let mut out = String::from("N");
            step(Err(end), false, &mut out);
            assert_eq!(out, code);
        }
        assert_eq!(began(0, false), "0 0\n");
    }

    #[test]
    fn edits_that_cannot_be_encoded_end_with_the_edges_answer() {
        let bad = HeaderEdits {
            set: vec![("x-a", "one\ntwo".into())],
            ..HeaderEdits::default()
        };
        let mut out = String::from("K");
        step(Ok(attempt(bad.clone())), false, &mut out);
        assert_eq!(out, "KA", "the attempt's lines are taken back");
        assert_eq!(respond(Some(5), &bad), None);
    }

    #[test]
    fn respond_names_when_to_write_the_log() {
        let edits = HeaderEdits {
            append: vec![("set-cookie", "pin=1".into())],
            ..HeaderEdits::default()
        };
        assert_eq!(
            respond(Some(250), &edits).as_deref(),
            Some("R250\n+set-cookie\npin=1\n")
        );
        assert_eq!(
            respond(None, &HeaderEdits::default()).as_deref(),
            Some("R-1\n")
        );
        assert_eq!(flush_ms(Some(u64::MAX)), i64::MAX);
        let far = respond(Some(u64::MAX), &HeaderEdits::default());
        assert_eq!(far, Some(format!("R{}\n", i64::MAX)));
    }

    #[test]
    fn a_socket_attempts_outcome_reads_back_as_itself() {
        for o in [
            Outcome::Refused,
            Outcome::TimedOut,
            Outcome::Invalid,
            Outcome::Lost,
        ] {
            let read = failure::of_error(Some(OUTCOME_ERROR), Some(outcome_message(o)));
            assert_eq!(read, o);
        }
        assert_eq!(outcome_message(Outcome::Answered(200)), "lost");
    }
}
