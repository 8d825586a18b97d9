//! Carrying out a request plan with real answers: which outcome an origin's answer is, the last
//! origin answer kept for a give-up that passes it on, what the client gets when the attempts
//! end, and the log lines on the way. Generic over the response type, so the glue's runtime
//! responses and the tests' plain values take the same path.

use std::collections::BTreeMap;

use super::inbound::Inbound;
use super::log;
use super::plan::{Attempt, Decision, Event, GiveUp, Plan, Step};
use crate::answer::{Answer, ErrorPages};
use crate::balancer::health::PoolVerdicts;
use crate::balancer::retry::Outcome;
use crate::balancer::PoolStates;
use crate::routes::Upstream;

/// How a request's attempts ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended<R> {
    /// The origin's response to pass on, or the edge's own answer.
    pub result: Result<R, Answer>,
    /// `Set-Cookie` values to add to a passed-on response (pins, read-your-writes).
    pub set_cookies: Vec<String>,
    /// Why the edge stopped without a success, for the log line.
    pub error: Option<&'static str>,
}

/// What an attempt's report gives the glue: lines to log (as errors), and the end if it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported<R> {
    /// Log lines (an invalid status, an ejected origin).
    pub lines: Vec<String>,
    /// How the attempts ended, when they did.
    pub ended: Option<Ended<R>>,
}

/// One request's attempts against its plan.
#[derive(Debug)]
pub struct Attempts<'p, 'c, R> {
    plan: &'p mut Plan<'c>,
    /// The most recent answer an origin gave that was not passed on (its own 502/503/504).
    last_answer: Option<R>,
}

impl<'p, 'c, R> Attempts<'p, 'c, R> {
    /// The attempts `plan` names.
    pub fn new(plan: &'p mut Plan<'c>) -> Self {
        Attempts {
            plan,
            last_answer: None,
        }
    }

    /// The attempts of `plan` taken up again between calls, with the answer kept so far
    /// ([`Attempts::into_last`]): for a driver that holds the plan across calls from JavaScript.
    pub fn resume(plan: &'p mut Plan<'c>, last_answer: Option<R>) -> Self {
        Attempts { plan, last_answer }
    }

    /// The answer kept for a give-up that passes the last one on, to resume with.
    pub fn into_last(self) -> Option<R> {
        self.last_answer
    }

    /// The next attempt to make, or how the attempts ended (see [`Plan::next`]).
    pub fn next(
        &mut self,
        states: &mut PoolStates,
        verdicts: &BTreeMap<String, PoolVerdicts>,
        now_ms: u64,
        random: u64,
    ) -> Result<Attempt, Ended<R>> {
        match self.plan.next(states, verdicts, now_ms, random) {
            Step::Attempt(a) => Ok(a),
            Step::GiveUp(g) => Err(self.give_up(g)),
        }
    }

    /// Reports what `attempt` gave: a response with its status, or how it failed.
    pub fn report(
        &mut self,
        attempt: &Attempt,
        result: Result<(u16, R), Outcome>,
        states: &mut PoolStates,
        now_ms: u64,
    ) -> Reported<R> {
        let outcome = match &result {
            Ok((status, _)) => Outcome::of_status(*status),
            Err(failed) => *failed,
        };
        let mut lines = Vec::new();
        if let (Ok((status, _)), Outcome::Invalid) = (&result, outcome) {
            lines.push(log::invalid_status(&attempt.url, *status));
        }
        let decision = self.plan.outcome(attempt, outcome, states, now_ms);
        for Event::Ejected { pool, origin } in self.plan.take_events() {
            lines.push(log::ejected(&pool, &origin));
        }
        if let (Ok((_, r)), Outcome::Answered(_)) = (result, outcome) {
            if let Decision::Respond { set_cookies } = decision {
                let ended = Ended {
                    result: Ok(r),
                    set_cookies,
                    error: None,
                };
                return Reported {
                    lines,
                    ended: Some(ended),
                };
            }
            self.last_answer = Some(r);
        }
        let ended = match decision {
            Decision::GiveUp(g) => Some(self.give_up(g)),
            _ => None,
        };
        Reported { lines, ended }
    }

    /// What the client gets when the plan gives up: the last origin answer, or the edge's own.
    fn give_up(&mut self, g: GiveUp) -> Ended<R> {
        let result = match (Answer::give_up(g), self.last_answer.take()) {
            (None, Some(r)) => Ok(r),
            (answer, _) => Err(answer.unwrap_or_else(|| Answer::text(502, "502 Bad Gateway\n"))),
        };
        Ended {
            result,
            set_cookies: Vec::new(),
            error: Some(g.reason()),
        }
    }
}

/// What goes to the client of `inbound`: an origin's response (`status` reads its status), or
/// the edge's page in place of an origin's 5xx where `upstream` intercepts it; the edge's own
/// answer with its configured page (for a browser), headers only for HEAD.
pub fn for_client<R>(
    result: Result<R, Answer>,
    status: impl Fn(&R) -> u16,
    upstream: &Upstream,
    pages: &ErrorPages,
    inbound: &Inbound,
) -> Result<R, Answer> {
    let answer = match result {
        Ok(r) if upstream.intercepts(status(&r)) => Answer::origin_error(status(&r)),
        Ok(r) => return Ok(r),
        Err(answer) => answer,
    };
    let answer = answer.with_page(pages, inbound.accept.as_deref());
    Err(answer.for_head(inbound.method == "HEAD"))
}

#[cfg(test)]
mod tests;
