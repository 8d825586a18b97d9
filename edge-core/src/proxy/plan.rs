//! The request plan: one proxied request's way through its route's pools, as a state machine.
//!
//! Built from the configuration, the route and the request's facts, it yields the next attempt
//! (pool, origin, a timeout that never overruns the deadline) and takes each attempt's outcome,
//! answering: respond (with the cookies to set), try again, or give up with a status. It owns
//! chain order (write pool, read-your-writes, failover pools, fallback), sticky pins, panic
//! mode, retries and the deadline. The glue only does the I/O it names.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use http::Method;

use crate::balancer::affinity::{self, Pin};
use crate::balancer::health::PoolVerdicts;
use crate::balancer::in_flight::Ticket;
use crate::balancer::retry::{self, BodyKind, Outcome};
use crate::balancer::{HashOn, PoolStates, Steering};
use crate::config::Config;
use crate::cookies;
use crate::routes::{Route, Upstream};

/// No attempt is started with less time than this left before the deadline.
pub const MIN_ATTEMPT_MS: u64 = 100;
/// `Retry-After` of the edge's own 503 when no origin could be reached.
pub const RETRY_AFTER_S: u32 = 10;

/// What the plan needs to know about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// The request method (extension methods included).
    pub method: Method,
    /// Whether the body can be sent again.
    pub body: BodyKind,
    /// The `Cookie` header ("" when none).
    pub cookies: String,
    /// Values of the request headers consistent hashing reads, by lower-case name
    /// ([`Config::hash_headers`] lists them).
    pub hash_headers: Vec<(String, String)>,
    /// The client's address, as the platform reports it.
    pub client_ip: IpAddr,
    /// The request path (for the log line).
    pub path: String,
    /// When the request arrived, ms since the epoch.
    pub started_ms: u64,
}

/// One attempt to make: send the request to `url`, giving up after `timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Pool name.
    pub pool: String,
    /// Origin index in the pool.
    pub origin: usize,
    /// The origin's URL (`scheme://host[:port]`).
    pub url: String,
    /// Time allowed for this attempt (already cut to what is left of the deadline).
    pub timeout_ms: u64,
    /// 1 for the first attempt.
    pub number: u32,
    /// Whether health and ejection were ignored to pick it (nothing else was available).
    pub panic: bool,
    ticket: Ticket,
}

impl Attempt {
    /// Ends an attempt abandoned without an outcome (its request was cancelled): it no longer
    /// counts as in flight. Harmless after [`Plan::outcome`], which ends it too.
    pub fn abandon(&self, states: &mut PoolStates) {
        if let Some(state) = states.get_mut(&self.pool) {
            state.in_flight.end(self.ticket);
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Make this attempt, then report its outcome with [`Plan::outcome`].
    Attempt(Attempt),
    /// Stop: answer the client as this says.
    GiveUp(GiveUp),
}

/// The decision after an attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Pass this attempt's response on to the client, adding these `Set-Cookie` values.
    Respond {
        /// `Set-Cookie` header values (pins, read-your-writes).
        set_cookies: Vec<String>,
    },
    /// Ask [`Plan::next`] for another attempt.
    TryAgain,
    /// Stop: answer the client as this says.
    GiveUp(GiveUp),
}

/// How the edge answers when it stops without a response worth passing on as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Pass on the most recent answer an origin gave (its own 502/503/504, e.g. maintenance
    /// mode on every origin): the origin's page says more than the edge's.
    LastAnswer,
    /// No origin answered at all (down, ejected, refused, timed out): 503 with `Retry-After`.
    Unavailable {
        /// Seconds for `Retry-After`.
        retry_after_s: u32,
    },
    /// The request could be sent only once and its origin did not answer in time: 504.
    GatewayTimeout,
    /// The request could be sent only once and its origin dropped the connection or answered
    /// with something that is not HTTP: 502.
    BadGateway,
    /// The client's request body broke off or stalled while it was sent: 400, the origin not
    /// blamed.
    ClientAborted,
}

impl GiveUp {
    /// Why, in a few words (for the log line).
    pub fn reason(self) -> &'static str {
        match self {
            GiveUp::LastAnswer => "every attempt failed; the last origin answer is passed on",
            GiveUp::Unavailable { .. } => "no origin could answer",
            GiveUp::GatewayTimeout => "the origin did not answer in time",
            GiveUp::BadGateway => "the origin's answer was lost or invalid",
            GiveUp::ClientAborted => "the client's request body broke off or stalled",
        }
    }

    /// The status the edge answers with (none for [`GiveUp::LastAnswer`]).
    pub fn status(self) -> Option<u16> {
        match self {
            GiveUp::LastAnswer => None,
            GiveUp::Unavailable { .. } => Some(503),
            GiveUp::GatewayTimeout => Some(504),
            GiveUp::BadGateway => Some(502),
            GiveUp::ClientAborted => Some(400),
        }
    }
}

/// Something worth a log line that happened while the plan ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Consecutive failures ejected an origin (passive health).
    Ejected {
        /// Pool name.
        pool: String,
        /// Origin URL.
        origin: String,
    },
}

/// One proxied request's plan.
#[derive(Debug, Clone)]
pub struct Plan<'c> {
    cfg: &'c Config,
    route: &'c Route,
    upstream: &'c Upstream,
    facts: RequestFacts,
    cookie_key: &'c [u8],
    chain: Cow<'c, [String]>,
    writes: bool,
    pin: Option<Pin>,
    /// Position in `chain` being tried.
    position: usize,
    panic: bool,
    /// (chain position, origin index) of every attempt.
    tried: Vec<(usize, usize)>,
    attempts: u32,
    answered: bool,
    last_failure: Option<Outcome>,
    /// The last failure could not be resent (method or body), whatever time was left.
    stuck: bool,
    /// Pool and origin of the last attempt (for the log line).
    last: Option<(String, String)>,
    /// When the first attempt was asked for: the deadline counts from here, not from the
    /// request's arrival (receiving a client's body, or waiting on another request's cache
    /// fill, is not the origins' time).
    first_ms: Option<u64>,
    events: Vec<Event>,
}

impl<'c> Plan<'c> {
    /// A plan for a request taking `route` (whose action is `upstream`). `cookie_key` is the
    /// `EDGE_COOKIE_KEY` secret (empty when the configuration signs no cookies).
    pub fn new(
        cfg: &'c Config,
        route: &'c Route,
        upstream: &'c Upstream,
        facts: RequestFacts,
        cookie_key: &'c [u8],
    ) -> Self {
        let now_s = facts.started_ms / 1000;
        let writes = !retry::is_safe(&facts.method);
        let chain = match &upstream.write_pool {
            Some(w) if writes => Cow::Owned(vec![w.clone()]),
            Some(w) if reads_own_writes(cfg, cookie_key, (route, upstream), &facts) => {
                std::iter::once(w.clone())
                    .chain(upstream.pools.iter().filter(|p| *p != w).cloned())
                    .collect()
            }
            _ => Cow::Borrowed(upstream.pools.as_slice()),
        };
        let pin = cookies::values(&facts.cookies, &cfg.cookies.affinity_cookie)
            .find_map(|v| Pin::read(cookie_key, v, now_s));
        Plan {
            cfg,
            route,
            upstream,
            facts,
            cookie_key,
            chain,
            writes,
            pin,
            position: 0,
            panic: false,
            tried: Vec::new(),
            attempts: 0,
            answered: false,
            last_failure: None,
            stuck: false,
            last: None,
            first_ms: None,
            events: Vec::new(),
        }
    }

    /// The pools this request may go to, in order (their health verdicts are wanted).
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// The route's label, for logs.
    pub fn route_label(&self) -> String {
        self.route.label()
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The request's log line, once the client's status is known (`error`: why the edge
    /// answered itself, if it did); `None` when the configuration logs no requests.
    pub fn log_line(
        &self,
        method: &str,
        status: u16,
        error: Option<&str>,
        cache: Option<&str>,
        now_ms: u64,
    ) -> Option<String> {
        if !self.cfg.log_requests {
            return None;
        }
        let (pool, origin) = self
            .last
            .as_ref()
            .map_or(("-", "-"), |(p, o)| (p.as_str(), o.as_str()));
        let line = super::log::RequestLog {
            at_ms: self.facts.started_ms,
            method,
            path: &self.facts.path,
            route: &self.route.label(),
            pool,
            origin,
            attempts: self.attempts,
            status,
            latency_ms: now_ms.saturating_sub(self.facts.started_ms),
            error,
            cache,
        }
        .line();
        Some(line)
    }

    /// Events since the last call (for logging).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The next attempt, or the answer when there is none to make. `verdicts` are the active
    /// health verdicts of the chain's pools, `random` a fresh random number.
    pub fn next(
        &mut self,
        states: &mut PoolStates,
        verdicts: &BTreeMap<String, PoolVerdicts>,
        now_ms: u64,
        random: u64,
    ) -> Step {
        if self.stuck || self.attempts >= self.cfg.retry.max_attempts {
            return Step::GiveUp(self.give_up());
        }
        let first_ms = *self.first_ms.get_or_insert(now_ms);
        let deadline = first_ms.saturating_add(self.cfg.retry.deadline_ms);
        let left = deadline.saturating_sub(now_ms);
        if left < MIN_ATTEMPT_MS {
            return Step::GiveUp(self.give_up());
        }
        let timeout_ms = self.cfg.retry.attempt_timeout_ms.min(left);
        loop {
            let Some(name) = self.chain.get(self.position) else {
                if !self.panic && self.attempts == 0 {
                    // Nothing anywhere in the chain is available: rather than answer 503 on
                    // evidence that may be stale, ignore health and ejection (Envoy's panic mode).
                    self.panic = true;
                    self.position = 0;
                    continue;
                }
                return Step::GiveUp(self.give_up());
            };
            let (Some(pool), Some(state)) = (self.cfg.pools.get(name), states.get_mut(name)) else {
                self.position += 1;
                continue;
            };
            let tried: Vec<usize> = self
                .tried
                .iter()
                .filter(|(p, _)| *p == self.position)
                .map(|&(_, i)| i)
                .collect();
            let available: Vec<bool> = if self.panic {
                pool.origins
                    .iter()
                    .enumerate()
                    .map(|(i, o)| o.enabled && !tried.contains(&i))
                    .collect()
            } else {
                state.available(pool, now_ms, &tried, verdicts.get(name))
            };
            let pinned = self
                .pin
                .as_ref()
                .filter(|p| pool.sticky && p.pool == *name)
                .and_then(|p| {
                    pool.origins
                        .iter()
                        .position(|o| affinity::origin_id(&o.url) == p.origin)
                })
                .filter(|&i| available.get(i) == Some(&true));
            let key = hash_key(&pool.steering, &self.facts);
            let pick =
                pinned.or_else(|| state.pick(pool, &available, key.as_deref(), now_ms, random));
            let Some(i) = pick else {
                self.position += 1;
                continue;
            };
            let Some(origin) = pool.origins.get(i) else {
                self.position += 1;
                continue;
            };
            self.attempts += 1;
            self.tried.push((self.position, i));
            self.last = Some((name.clone(), origin.url.clone()));
            return Step::Attempt(Attempt {
                pool: name.clone(),
                origin: i,
                url: origin.url.clone(),
                timeout_ms,
                number: self.attempts,
                panic: self.panic,
                ticket: state.in_flight.begin(i, now_ms, now_ms + timeout_ms),
            });
        }
    }

    /// Whether no origin of the chain could be tried now (every one drained, ejected or marked
    /// down by the active checks): the cache then serves a stale copy at once rather than
    /// waiting for attempts that would only be made in panic mode.
    pub fn all_down(
        &self,
        states: &PoolStates,
        verdicts: &BTreeMap<String, PoolVerdicts>,
        now_ms: u64,
    ) -> bool {
        self.chain
            .iter()
            .all(|name| match (self.cfg.pools.get(name), states.get(name)) {
                (Some(pool), Some(state)) => !state
                    .available(pool, now_ms, &[], verdicts.get(name))
                    .contains(&true),
                _ => true,
            })
    }

    /// Counts the deadline from `ms` rather than from the first attempt: for a request that
    /// has already spent time waiting on origins another way (a cache follower waiting on the
    /// request that fetches for it), so that its attempts do not get a whole deadline more.
    /// No effect once an attempt has been asked for.
    pub fn count_deadline_from(&mut self, ms: u64) {
        self.first_ms.get_or_insert(ms);
    }

    /// Takes the outcome of `attempt` and decides what happens next.
    pub fn outcome(
        &mut self,
        attempt: &Attempt,
        outcome: Outcome,
        states: &mut PoolStates,
        now_ms: u64,
    ) -> Decision {
        let failed = outcome.is_failure();
        // A client's broken body says nothing about the origin's health, either way.
        let client = outcome == Outcome::ClientAborted;
        if let Some(state) = states.get_mut(&attempt.pool) {
            state.in_flight.end(attempt.ticket);
            if !client && state.record(attempt.origin, failed, now_ms, &self.cfg.outlier) {
                self.events.push(Event::Ejected {
                    pool: attempt.pool.clone(),
                    origin: attempt.url.clone(),
                });
            }
        }
        if client {
            self.stuck = true;
            return Decision::GiveUp(GiveUp::ClientAborted);
        }
        if !failed {
            return Decision::Respond {
                set_cookies: self.cookies_after(attempt, now_ms),
            };
        }
        self.answered |= matches!(outcome, Outcome::Answered(_));
        self.last_failure = Some(outcome);
        if retry::may_resend(&self.facts.method, self.facts.body, outcome) {
            Decision::TryAgain
        } else {
            self.stuck = true;
            Decision::GiveUp(self.give_up())
        }
    }

    /// How to answer when there is nothing more to try.
    fn give_up(&self) -> GiveUp {
        if self.answered {
            return GiveUp::LastAnswer;
        }
        match (self.stuck, self.last_failure) {
            (true, Some(Outcome::TimedOut)) => GiveUp::GatewayTimeout,
            (true, Some(Outcome::Lost)) | (_, Some(Outcome::Invalid)) => GiveUp::BadGateway,
            _ => GiveUp::Unavailable {
                retry_after_s: RETRY_AFTER_S,
            },
        }
    }

    /// The cookies a successful response carries: a new or renewed sticky pin, and the
    /// read-your-writes token after a write.
    fn cookies_after(&self, attempt: &Attempt, now_ms: u64) -> Vec<String> {
        let now_s = now_ms / 1000;
        let mut out = Vec::new();
        let c = &self.cfg.cookies;
        let sticky = self.cfg.pools.get(&attempt.pool).is_some_and(|p| p.sticky);
        if sticky {
            let kept = self.pin.as_ref().is_some_and(|p| {
                p.pool == attempt.pool
                    && p.origin == affinity::origin_id(&attempt.url)
                    && !p.due_for_renewal(now_s, c.affinity_ttl_s)
            });
            if !kept {
                let token = Pin::write(
                    self.cookie_key,
                    &attempt.pool,
                    &attempt.url,
                    now_s + c.affinity_ttl_s,
                );
                out.push(affinity::set_cookie(
                    &c.affinity_cookie,
                    &token,
                    c.affinity_ttl_s,
                ));
            }
        }
        let ttl = self.upstream.read_your_writes_s;
        if self.writes && self.upstream.write_pool.is_some() && ttl > 0 {
            let token = affinity::ryw_token(self.cookie_key, &self.route.id(), now_s + ttl);
            out.push(affinity::set_cookie(&c.ryw_cookie, &token, ttl));
        }
        out
    }
}

/// Whether the request's client wrote on `route` (which has a write pool) within its
/// `read_your_writes_s`: it carries a valid read-your-writes cookie naming the route (any of
/// that name: RFC 6265 §4.2.2), so its reads go to the write pool first — and never to a shared
/// copy a replica answered.
pub fn reads_own_writes(
    cfg: &Config,
    cookie_key: &[u8],
    (route, upstream): (&Route, &Upstream),
    facts: &RequestFacts,
) -> bool {
    let now_s = facts.started_ms / 1000;
    upstream.write_pool.is_some()
        && cookies::values(&facts.cookies, &cfg.cookies.ryw_cookie)
            .any(|v| affinity::ryw_holds(cookie_key, v, &route.id(), now_s))
}

/// The value consistent hashing keys on for this request, if the pool hashes and it is there.
fn hash_key(steering: &Steering, facts: &RequestFacts) -> Option<Vec<u8>> {
    match steering {
        Steering::Hash(HashOn::Cookie(name)) => {
            cookies::get(&facts.cookies, name).map(|v| v.as_bytes().to_vec())
        }
        Steering::Hash(HashOn::Header(name)) => facts
            .hash_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_bytes().to_vec()),
        Steering::Hash(HashOn::ClientIp) => Some(facts.client_ip.to_string().into_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
