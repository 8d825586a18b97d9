//! One proxied request held between the steps of a driver that does its I/O elsewhere: the
//! request as read, its plan, where its attempts stand, and what the client gets. Each step is
//! a plain call: the driver asks for the next attempt, makes it, reports what came back, and is
//! told what to do with that answer ([`Reply`]). Both drivers use it: the worker's JavaScript
//! entry and the Rust glue (uploads, caching routes, background revalidation), so there is one
//! attempt loop.
//!
//! The entry takes ([`Exchange::start`]) what needs nothing but a plan and the runtime's own
//! calls: a request with no body, on a proxy route that does not cache, or on one that does but
//! never for this request (a GET or HEAD with a session cookie: a logged-in customer's pages,
//! most of a shop's dynamic traffic; it gets `Cache-Status: …; fwd=bypass; detail=session` as
//! on the cache's own path; or a writer's read, `detail=read-your-writes`). A request it does not take goes to the glue's driver, which reads
//! it again (the edge's answers to a bad request included) and makes its exchange with
//! [`Exchange::new`].

use std::collections::BTreeMap;

use super::attempts::{for_client, Attempts, Ended};
use super::inbound::{self, Inbound};
use super::plan::{self, Attempt, Plan};
use crate::answer::{Answer, ErrorPages};
use crate::balancer::health::PoolVerdicts;
use crate::balancer::retry::{BodyKind, Outcome};
use crate::balancer::PoolStates;
use crate::cache::request::CacheRequest;
use crate::cache::status::{annotations, CacheStatus};
use crate::config::Config;
use crate::field_lines::FieldLines;
use crate::header_edits::HeaderEdits;
use crate::origin_auth;
use crate::router::{self, Decision};
use crate::routes::{Route, Upstream};

/// What the driver does with an answer, or after the attempts ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Pass this answer on ([`Exchange::intercepts`], then the client's edits).
    Respond,
    /// Keep this answer (the last one an origin gave), dropping any kept before; go on.
    Keep,
    /// Drop this answer; go on.
    Drop,
    /// The attempts ended: pass the kept answer on.
    Last,
    /// The attempts ended: the edge answers itself ([`Exchange::answer`]).
    Answer,
}

impl Reply {
    /// One letter for the driver (`R`, `K`, `N`, `L`, `A`).
    pub fn code(self) -> char {
        match self {
            Reply::Respond => 'R',
            Reply::Keep => 'K',
            Reply::Drop => 'N',
            Reply::Last => 'L',
            Reply::Answer => 'A',
        }
    }
}

/// The next request to an origin: the request's method as sent, the whole URL, the attempt's
/// timeout and the header edits (the origin signature included, fresh for each attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The method as it goes on the wire.
    pub method: String,
    /// The origin's URL and the request target.
    pub url: String,
    /// Time allowed for the attempt.
    pub timeout_ms: u64,
    /// The request's headers less what the origin must not see, plus the edge's own.
    pub edits: HeaderEdits,
}

/// One proxied request under way.
#[derive(Debug)]
pub struct Exchange<'c> {
    plan: Plan<'c>,
    upstream: &'c Upstream,
    inbound: Inbound,
    verdicts: BTreeMap<String, PoolVerdicts>,
    /// The attempt made and not yet reported, and when it was sent (ms since the epoch).
    current: Option<(Attempt, u64)>,
    /// The number of the attempt whose answer is kept for a give-up that passes it on.
    last: Option<u32>,
    ended: Option<Ended<u32>>,
    /// When the first attempt was sent, and when the last answer came, ms since the epoch.
    sent_ms: Option<u64>,
    received_ms: u64,
    hsts: Option<&'c str>,
    /// Why the route's cache is gone around (a session's request), when the route caches.
    bypass: Option<&'static str>,
    /// What the cache did, as its flow says (the glue's driver of a caching route).
    cache: Option<CacheStatus>,
}

impl<'c> Exchange<'c> {
    /// Takes a request with `method` for `url` (its header `fields`; `has_body`: the runtime
    /// has a body for it) when it is one this driver carries out (see the module's header).
    /// `verdicts` gives the health verdicts of the plan's pools; `cookie_key` signs its cookies.
    pub fn start(
        cfg: &'c Config,
        cookie_key: &'c [u8],
        (method, url, fields, has_body): (&str, &str, &FieldLines, bool),
        verdicts: impl FnOnce(&[String]) -> BTreeMap<String, PoolVerdicts>,
        now_ms: u64,
    ) -> Option<Self> {
        let Decision::Proxy(route, upstream) = router::decide(url, cfg) else {
            return None;
        };
        // A request refused here is answered by the glue's driver, which reads it again.
        let inbound = inbound::read_fields(url, method, fields, || has_body, cfg, now_ms).ok()?;
        if inbound.facts.body != BodyKind::None {
            return None;
        }
        let settings = &upstream.cache;
        let bypass = match settings.enabled {
            false => None,
            true => {
                let get = |n: &str| fields.get(n).map(str::to_string);
                let mut creq = CacheRequest::read(method, get, settings);
                creq.writer =
                    plan::reads_own_writes(cfg, cookie_key, (route, upstream), &inbound.facts);
                match creq.bypass(settings) {
                    Some(why @ ("session" | "read-your-writes")) => Some(why),
                    _ => return None,
                }
            }
        };
        let mut x = Exchange::new(cfg, cookie_key, (route, upstream), inbound, verdicts);
        x.bypass = bypass;
        x.hsts = cfg.forwarding.hsts_for(url);
        Some(x)
    }

    /// Any request read for `route` (the glue's own driver: a body, a caching route): its plan,
    /// with the health verdicts of its pools from `verdicts`.
    pub fn new(
        cfg: &'c Config,
        cookie_key: &'c [u8],
        (route, upstream): (&'c Route, &'c Upstream),
        inbound: Inbound,
        verdicts: impl FnOnce(&[String]) -> BTreeMap<String, PoolVerdicts>,
    ) -> Self {
        let plan = Plan::new(cfg, route, upstream, inbound.facts.clone(), cookie_key);
        Exchange {
            verdicts: verdicts(plan.chain()),
            plan,
            upstream,
            inbound,
            current: None,
            last: None,
            ended: None,
            sent_ms: None,
            received_ms: 0,
            hsts: None,
            bypass: None,
            cache: None,
        }
    }

    /// The request as read.
    pub fn inbound(&self) -> &Inbound {
        &self.inbound
    }

    /// Header edits for every attempt from now on (a stored copy's validators).
    pub fn add_edits(&mut self, set: Vec<(&'static str, String)>) {
        self.inbound.edits.set.extend(set);
    }

    /// Sets what the cache did, for the answer's `Cache-Status`, its count and its log line.
    pub fn set_cache_status(&mut self, status: CacheStatus) {
        self.cache = Some(status);
    }

    /// Whether every origin of the plan is down (its verdicts, pool states, at `now_ms`).
    pub fn all_down(&self, pools: &PoolStates, now_ms: u64) -> bool {
        self.plan.all_down(pools, &self.verdicts, now_ms)
    }

    /// Counts the request's deadline from `ms` (time spent waiting for another request's
    /// fetch of the same page is origin time).
    pub fn count_deadline_from(&mut self, ms: u64) {
        self.plan.count_deadline_from(ms);
    }

    /// When the first attempt was sent and when the last answer came, ms since the epoch
    /// (`now_ms` for both when no attempt was made).
    pub fn timing(&self, now_ms: u64) -> (u64, u64) {
        self.sent_ms
            .map_or((now_ms, now_ms), |s| (s, self.received_ms))
    }

    /// The attempt made and not yet reported, and when it was sent (ms since the epoch: what
    /// is left of its timeout counts from there).
    pub fn current(&self) -> Option<&(Attempt, u64)> {
        self.current.as_ref()
    }

    /// The next attempt, signed with `origin_key` when set (`random` gives its nonce), or how
    /// the attempts ended ([`Reply::Last`] or [`Reply::Answer`]).
    pub fn next(
        &mut self,
        pools: &mut PoolStates,
        now_ms: u64,
        mut random: impl FnMut() -> u64,
        origin_key: Option<&origin_auth::OriginKey>,
    ) -> Result<Outgoing, Reply> {
        let mut attempts = Attempts::resume(&mut self.plan, self.last.take());
        let next = attempts.next(pools, &self.verdicts, now_ms, random());
        self.last = attempts.into_last();
        let a = match next {
            Ok(a) => a,
            Err(ended) => return Err(self.end(ended)),
        };
        let i = &self.inbound;
        let mut edits = i.edits.clone();
        if let Some(key) = origin_key {
            let target = (i.method.as_str(), a.url.as_str(), i.path_and_query.as_str());
            let random = (random(), random());
            let value = origin_auth::sign_request(key, target, i.signed_values(), now_ms, random);
            edits.set.push((origin_auth::HEADER, value));
        }
        let out = Outgoing {
            method: i.method.clone(),
            url: format!("{}{}", a.url, i.path_and_query),
            timeout_ms: a.timeout_ms,
            edits,
        };
        self.sent_ms.get_or_insert(now_ms);
        self.current = Some((a, now_ms));
        Ok(out)
    }

    /// Reports what the current attempt gave: an answer's status, or how it failed. What to do
    /// with the answer, and lines to log (an invalid status, an ejected origin).
    pub fn report(
        &mut self,
        result: Result<u16, Outcome>,
        pools: &mut PoolStates,
        now_ms: u64,
    ) -> (Reply, Vec<String>) {
        let Some((a, _)) = self.current.take() else {
            return (Reply::Answer, Vec::new());
        };
        self.received_ms = now_ms;
        let answered = result.is_ok();
        let mut attempts = Attempts::resume(&mut self.plan, self.last.take());
        let reported = attempts.report(&a, result.map(|s| (s, a.number)), pools, now_ms);
        self.last = attempts.into_last();
        let reply = match reported.ended {
            Some(ended) if answered && ended.result == Ok(a.number) => {
                self.ended = Some(ended);
                Reply::Respond
            }
            Some(ended) => self.end(ended),
            None if self.last == Some(a.number) => Reply::Keep,
            None => Reply::Drop,
        };
        (reply, reported.lines)
    }

    fn end(&mut self, ended: Ended<u32>) -> Reply {
        let reply = match ended.result {
            Ok(_) => Reply::Last,
            Err(_) => Reply::Answer,
        };
        self.ended = Some(ended);
        reply
    }

    /// Whether the route shows its own page instead of an origin's answer with `status`.
    pub fn intercepts(&self, status: u16) -> bool {
        self.upstream.intercepts(status)
    }

    /// `Set-Cookie` values for the answer passed on (pins, read-your-writes).
    pub fn set_cookies(&self) -> &[String] {
        self.ended.as_ref().map_or(&[], |e| &e.set_cookies)
    }

    /// The `Cache-Status` of the answer with `status` on a caching route (what the cache's
    /// flow did, or that it was gone around), to show and to count.
    pub fn cache_status(&self, status: u16) -> Option<CacheStatus> {
        let bypass = || {
            self.bypass
                .map(|why| CacheStatus::bypass(why, Some(status)))
        };
        self.cache.clone().or_else(bypass)
    }

    /// `Server-Timing`, `Cache-Status` on a caching route, and `Strict-Transport-Security` when
    /// configured, for the answer with `status`.
    pub fn annotations(&self, status: u16, now_ms: u64) -> HeaderEdits {
        let origin_ms = self.sent_ms.map(|s| self.received_ms.saturating_sub(s));
        let cache = self.cache_status(status);
        let started_ms = self.inbound.facts.started_ms;
        let mut edits = annotations(cache.as_ref(), started_ms, origin_ms, now_ms);
        if let Some(hsts) = self.hsts {
            edits
                .set
                .push(("strict-transport-security", hsts.to_string()));
        }
        edits
    }

    /// The edge's own answer: why the attempts gave up, or the route's page for an origin's
    /// error with `status`; with its error page for a browser, headers only for HEAD.
    pub fn answer(&self, pages: &ErrorPages, status: u16) -> Answer {
        let result = match self.ended.as_ref().map(|e| &e.result) {
            Some(Err(answer)) => Err(answer.clone()),
            _ => Ok(status),
        };
        let client = for_client(result, |s| *s, self.upstream, pages, &self.inbound);
        client.err().unwrap_or_else(Answer::edge_failed)
    }

    /// The request's log line with the client's `status` (`None` when requests are not logged).
    pub fn log_line(&self, status: u16, now_ms: u64) -> Option<(String, bool)> {
        let error = self.ended.as_ref().and_then(|e| e.error);
        let cache = self.cache.as_ref().map(CacheStatus::outcome);
        let cache = cache.or(self.bypass.map(|_| "bypass"));
        let method = &self.inbound.method;
        let line = self.plan.log_line(method, status, error, cache, now_ms)?;
        Some((line, error.is_some()))
    }

    /// Ends the exchange: an attempt still in flight (its request was cancelled) is abandoned.
    pub fn close(mut self, pools: &mut PoolStates) {
        self.abandon(pools);
    }

    /// Abandons the attempt in flight, if any (its request was cancelled): no longer counted.
    pub fn abandon(&mut self, pools: &mut PoolStates) {
        if let Some((a, _)) = self.current.take() {
            a.abandon(pools);
        }
    }
}

#[cfg(test)]
mod tests;
