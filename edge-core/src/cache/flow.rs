//! A request's way through the shared cache, as a sans-IO state machine (like the proxy's
//! [`Plan`](crate::proxy::plan::Plan)): it names the next I/O to do — look the request up, check
//! the origins' health, wait for another request's fetch, forward the request (with the stored
//! copy's validators or none), store a response, purge tags, start a background revalidation —
//! and takes each result back, until it says how to answer: from the stored copy, by passing the
//! origin's answer on, or with the edge's own response. The glue runs one loop over
//! [`Flow::next_step`] and does only what each [`Step`] names.
//!
//! A background revalidation (stale-while-revalidate, RFC 5861 §3) is a flow too
//! ([`Flow::background`]): the same loop, for a request in the edge's name
//! ([`revalidation::client_edits`]) that always goes to the origin — conditional when a copy is
//! found — stores what the answer brings, and answers no one ([`Step::Revalidated`]).
//!
//! The decisions themselves are the other `cache` modules' (lookup, forward, admission,
//! refresh, reply, placement, coalesce, invalidate); this file is the order they come in.

pub mod revalidation;

use crate::answer::Answer;
use crate::field_lines::FieldLines;

use super::admission;
use super::coalesce::{Coalescer, Flight, Role};
use super::conditional;
use super::entry::{storage_url, Entry};
use super::forward::{After, Forward};
use super::freshness::Timing;
use super::headers::Fields;
use super::invalidate;
use super::key;
use super::lookup::{self, StaleWhy, Use};
use super::placement::{self, Placement};
use super::purge::PurgeLog;
use super::refresh;
use super::reply::{self, Reply};
use super::request::CacheRequest;
use super::settings::CacheSettings;
use super::status::CacheStatus;
use super::storable::{RequestBits, ToStore};

/// How often a follower looks whether the leader's fetch is done, ms.
pub const FOLLOW_POLL_MS: u64 = 5;

/// The next I/O to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Look up the stored response for the request (under [`Flow::primary`], or the variant
    /// its `Vary` marker selects by the client's request fields); report with [`Flow::found`].
    Lookup,
    /// Read whether every origin of the route is down now; report with [`Flow::origins`].
    CheckOrigins,
    /// Wait this long for the leader's fetch of the same key; report with [`Flow::waited`].
    Wait {
        /// Milliseconds.
        ms: u64,
    },
    /// Send the request to the route's origins with these fields added (the stored copy's
    /// validators; none when empty); report with [`Flow::answered`].
    Forward {
        /// Field names and values to set on the request.
        validators: Vec<(&'static str, String)>,
    },
    /// Start a background revalidation of the stored copy (stale-while-revalidate), then go on.
    Revalidate,
    /// Store a response in the background, then go on.
    Store(Store),
    /// Purge these tags (here and with the coordinator), then go on.
    Purge(Vec<String>),
    /// Answer from the stored copy (with its body when `reply.body`). The flow is over.
    Serve {
        /// Status and fields of the answer.
        reply: Reply,
        /// Its `Cache-Status`.
        status: CacheStatus,
    },
    /// Pass what the forward gave on (the origin's answer, or the edge's own when no origin
    /// answered), with this `Cache-Status`. The flow is over.
    Pass(CacheStatus),
    /// Answer with the edge's own response, without `Cache-Status`. The flow is over.
    Answer(Answer),
    /// A background revalidation is over; nothing is sent. `Ok` when it stores a copy (the
    /// [`Step::Store`] before this), else why not (for the log).
    Revalidated(Result<(), String>),
}

/// A response to store, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Its storage key, the platform's `Cache-Control` for it, and the `Vary` marker beside it.
    pub place: Placement,
    /// What is kept (the entry, the fields it varies on).
    pub to_store: ToStore,
    /// Where its body comes from.
    pub from: Source,
    /// Largest body stored, bytes (a longer one is not stored).
    pub max_bytes: u64,
    /// The coalescing flight to finish once stored (or not), when this request led one.
    pub leader: Option<String>,
}

impl Store {
    /// A store that cannot start (the runtime refused to split the answer's body): its flight,
    /// when it leads one, is finished at `now_ms` storing nothing, so that the requests waiting
    /// on it go to the origin themselves at once rather than wait out the deadline.
    pub fn refused(self, coalescer: &mut Coalescer, now_ms: u64) {
        if let Some(flight) = self.leader {
            coalescer.finish(&flight, false, now_ms);
        }
    }
}

/// Where a stored body comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The origin's answer (teed when it also goes to the client).
    Answer,
    /// The stored copy found by the lookup (refreshed by a `304`).
    Copy,
}

/// What a forward gave, as the flow needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The status the client gets: the origin's, or the edge's own answer's.
    pub status: u16,
    /// The origin's response fields; `None` when no origin answered (the edge answers itself).
    pub fields: Option<Fields>,
    /// When the request was sent and the answer came.
    pub timing: Timing,
}

impl Answered {
    /// What a forward gave: the `status` the client gets, the origin's response `fields`
    /// (`None` when no origin answered), and when it was asked and answered (ms since the epoch).
    pub fn new(
        status: u16,
        fields: Option<&FieldLines>,
        (request_ms, response_ms): (u64, u64),
    ) -> Self {
        Answered {
            status,
            fields: fields.map(|f| Fields::new(f.pairs())),
            timing: Timing {
                request_ms,
                response_ms,
            },
        }
    }
}

/// Where the flow is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// Passing the request by; an unsafe one then purges what it changed (URL, public origin).
    Bypass {
        why: &'static str,
        invalidate: Option<(String, String)>,
    },
    /// Looking the request up.
    Lookup,
    /// A copy that may answer while every origin fails: is every origin down?
    Check {
        entry: Entry,
        purged: bool,
        now_ms: u64,
        decision: Use,
    },
    /// Forwarded with a copy in hand.
    WithCopy {
        entry: Entry,
        fwd: Forward,
        purged: bool,
    },
    /// Following another request's fetch of the key (`flight`).
    Following { flight: String },
    /// The leader stored the key: looking it up again.
    Collapsed,
    /// Forwarded on a miss (leading the flight, or not), `collapsed` when it waited first.
    Miss {
        leader: Option<String>,
        collapsed: bool,
    },
    /// Over: the answer is named.
    Done,
}

/// One request's flow through the cache.
#[derive(Debug, Clone)]
pub struct Flow<'c> {
    req: CacheRequest,
    settings: &'c CacheSettings,
    primary: String,
    deadline_ms: u64,
    at: At,
    out: Vec<Step>,
    /// A background revalidation ([`Flow::background`]).
    background: bool,
    /// The background revalidation's flight, until its store (or its end) finishes it.
    flight: Option<String>,
}

impl<'c> Flow<'c> {
    /// The flow of `req` for `url` on a route with `settings`; `public_origin` is the origin the
    /// client used (for what an unsafe request invalidates), `deadline_ms` how long a leader's
    /// fetch is waited for.
    pub fn new(
        req: CacheRequest,
        url: &str,
        public_origin: &str,
        settings: &'c CacheSettings,
        deadline_ms: u64,
    ) -> Self {
        let (at, first) = match req.bypass(settings) {
            Some(why) => {
                let invalidate = (!req.readable).then(|| (url.into(), public_origin.into()));
                (At::Bypass { why, invalidate }, forward(Vec::new()))
            }
            None => (At::Lookup, Step::Lookup),
        };
        Flow {
            primary: key::primary(url, &settings.ignore_query),
            req,
            settings,
            deadline_ms,
            at,
            out: vec![first],
            background: false,
            flight: None,
        }
    }

    /// The background revalidation of `url` (on a route with `settings`): `req` is the request
    /// in the edge's name ([`revalidation::client_edits`]). `None` when this isolate already
    /// revalidates it: each revalidation is a flight of its own in `coalescer` (at `now_ms`; a
    /// leader older than `deadline_ms` counts as gone), beside the clients' misses of the key.
    pub fn background(
        req: CacheRequest,
        url: &str,
        settings: &'c CacheSettings,
        coalescer: &mut Coalescer,
        now_ms: u64,
        deadline_ms: u64,
    ) -> Option<Self> {
        let primary = key::primary(url, &settings.ignore_query);
        let flight = format!("revalidate {}", storage_url(&primary, None));
        if coalescer.join(&flight, now_ms, deadline_ms) == Role::Follower {
            return None;
        }
        Some(Flow {
            primary,
            req,
            settings,
            deadline_ms,
            at: At::Lookup,
            out: vec![Step::Lookup],
            background: true,
            flight: Some(flight),
        })
    }

    /// The request's primary cache key (what [`Step::Lookup`] looks under).
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The next I/O to do; `None` while the flow waits for the result of the one it named, and
    /// once it has answered.
    pub fn next_step(&mut self) -> Option<Step> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// The lookup's result: the stored entry found (`None`: nothing), at `now_ms`. `purges` says
    /// whether a purge made it stale; a miss joins the key's flight in `coalescer`.
    pub fn found(
        &mut self,
        entry: Option<Entry>,
        purges: &PurgeLog,
        coalescer: &mut Coalescer,
        now_ms: u64,
    ) {
        let (req, settings) = (&self.req, self.settings);
        match (std::mem::replace(&mut self.at, At::Done), entry) {
            // A background revalidation goes to the origin whatever it finds.
            (At::Lookup, Some(entry)) if self.background => {
                let purged = entry.purged(purges);
                let decision = Use::Forward {
                    revalidate: true,
                    stale_on_error: false,
                };
                self.use_copy(entry, decision, purged);
            }
            (At::Lookup, None) if self.background => self.miss(None, false),
            (At::Lookup, None) if req.cc.has("only-if-cached") => {
                let text = "504 Gateway Timeout: not in the cache (only-if-cached)\n";
                self.out.push(Step::Answer(Answer::text(504, text)));
            }
            (At::Lookup, None) => {
                let flight = storage_url(&self.primary, None);
                if coalescer.join(&flight, now_ms, self.deadline_ms) == Role::Follower {
                    self.follow(flight);
                } else {
                    self.miss(Some(flight), false);
                }
            }
            (At::Lookup, Some(entry)) => {
                let purged = entry.purged(purges);
                let decision = lookup::decide(&entry, req, settings, now_ms, purged, false);
                if let Use::Forward {
                    stale_on_error: true,
                    ..
                } = decision
                {
                    self.out.push(Step::CheckOrigins);
                    self.at = At::Check {
                        entry,
                        purged,
                        now_ms,
                        decision,
                    };
                } else {
                    self.use_copy(entry, decision, purged);
                }
            }
            // The copy the leader has just stored: no purge since, and only a fresh one serves.
            (At::Collapsed, Some(entry)) => {
                match lookup::decide(&entry, req, settings, now_ms, false, false) {
                    Use::Fresh { age, ttl } => {
                        let status = CacheStatus {
                            collapsed: true,
                            ..CacheStatus::hit(ttl)
                        };
                        self.serve(&entry, age, status);
                    }
                    _ => self.miss(None, true),
                }
            }
            (At::Collapsed, None) => self.miss(None, true),
            (at, _) => self.at = at,
        }
    }

    /// Whether every origin of the route is down (after [`Step::CheckOrigins`]): then the copy
    /// may answer without asking them.
    pub fn origins(&mut self, all_down: bool) {
        match std::mem::replace(&mut self.at, At::Done) {
            At::Check {
                entry,
                purged,
                now_ms,
                decision,
            } => {
                let decision = if all_down {
                    lookup::decide(&entry, &self.req, self.settings, now_ms, purged, true)
                } else {
                    decision
                };
                self.use_copy(entry, decision, purged);
            }
            at => self.at = at,
        }
    }

    /// The wait is over (after [`Step::Wait`]): the leader's flight in `coalescer` at `now_ms`.
    pub fn waited(&mut self, coalescer: &Coalescer, now_ms: u64) {
        match std::mem::replace(&mut self.at, At::Done) {
            At::Following { flight } => match coalescer.poll(&flight, now_ms, self.deadline_ms) {
                Flight::Pending => self.follow(flight),
                Flight::Done { stored: true } => {
                    self.out.push(Step::Lookup);
                    self.at = At::Collapsed;
                }
                Flight::Done { stored: false } | Flight::Gone => self.miss(None, false),
            },
            at => self.at = at,
        }
    }

    /// The forward (after [`Step::Forward`]) could not be made at all (the request's body could
    /// not be read, the glue failed to build or send the request); the edge's own `answer` says
    /// why. A leader finishes its flight in `coalescer`, storing nothing, so that its followers
    /// go to the origin themselves at once rather than wait out the deadline. The flow ends with
    /// `answer` ([`Step::Revalidated`] for a background revalidation, which answers no one).
    pub fn abandon(&mut self, answer: Answer, coalescer: &mut Coalescer, now_ms: u64) {
        if let At::Miss {
            leader: Some(flight),
            ..
        } = std::mem::replace(&mut self.at, At::Done)
        {
            coalescer.finish(&flight, false, now_ms);
        }
        self.let_go(coalescer, now_ms);
        self.out.push(match self.background {
            true => Step::Revalidated(Err(format!("not sent ({})", answer.status))),
            false => Step::Answer(answer),
        });
    }

    /// Finishes the background revalidation's flight in `coalescer` when no store will.
    fn let_go(&mut self, coalescer: &mut Coalescer, now_ms: u64) {
        if let Some(flight) = self.flight.take() {
            coalescer.finish(&flight, false, now_ms);
        }
    }

    /// What the forward gave (after [`Step::Forward`]), at `now_ms`. `request_field` reads the
    /// forwarded request's fields (the secondary key of what is stored); a leader that stores
    /// nothing finishes its flight in `coalescer`.
    pub fn answered(
        &mut self,
        answered: Answered,
        request_field: impl Fn(&str) -> Option<String>,
        coalescer: &mut Coalescer,
        now_ms: u64,
    ) {
        let at = std::mem::replace(&mut self.at, At::Done);
        let forwarded = matches!(
            at,
            At::Bypass { .. } | At::WithCopy { .. } | At::Miss { .. }
        );
        match at {
            At::Bypass { why, invalidate } => {
                if let (Some((url, public)), Some(fields)) = (invalidate, &answered.fields) {
                    let get = |n: &str| fields.first(n).map(String::from);
                    let tags = invalidate::after_unsafe(
                        &url,
                        answered.status,
                        get,
                        &public,
                        self.settings,
                    );
                    if !tags.is_empty() {
                        self.out.push(Step::Purge(tags));
                    }
                }
                let status = CacheStatus::bypass(why, Some(answered.status));
                self.out.push(Step::Pass(status));
            }
            At::WithCopy { entry, fwd, purged } => {
                let origin = answered.fields.as_ref().map(|_| answered.status);
                let after = fwd.after(origin, &entry, self.settings, now_ms, purged);
                match (after, &answered.fields) {
                    (After::Stale { age, ttl }, _) => {
                        let status = CacheStatus::stale_if_error(ttl, Some(answered.status));
                        self.serve(&entry, age, status);
                    }
                    (After::Refresh, Some(fields)) => {
                        self.refreshed(&entry, fields, answered.timing, request_field, now_ms)
                    }
                    (After::Pass | After::Refresh, _) => {
                        let base = CacheStatus::forward("stale");
                        self.admit(base, None, answered, request_field, coalescer, now_ms);
                    }
                }
            }
            At::Miss { leader, collapsed } => {
                let base = CacheStatus {
                    collapsed,
                    ..CacheStatus::forward("uri-miss")
                };
                self.admit(base, leader, answered, request_field, coalescer, now_ms);
            }
            at => self.at = at,
        }
        if forwarded {
            self.let_go(coalescer, now_ms); // unless a store holds it
        }
    }

    /// Acts on the lookup's decision about a found copy.
    fn use_copy(&mut self, entry: Entry, decision: Use, purged: bool) {
        match decision {
            Use::Fresh { age, ttl } => self.serve(&entry, age, CacheStatus::hit(ttl)),
            Use::Stale { age, ttl, why } => {
                if why == StaleWhy::WhileRevalidate {
                    self.out.push(Step::Revalidate);
                }
                self.serve(&entry, age, CacheStatus::stale_hit(ttl, why.token()));
            }
            Use::Forward {
                revalidate,
                stale_on_error,
            } => {
                let fwd = Forward::new(revalidate, stale_on_error, &self.req);
                let validators = if fwd.sends_validators() {
                    conditional::validators(&entry)
                } else {
                    Vec::new()
                };
                self.out.push(forward(validators));
                self.at = At::WithCopy { entry, fwd, purged };
            }
        }
    }

    /// Waits (again) for the leader of `flight`.
    fn follow(&mut self, flight: String) {
        self.out.push(Step::Wait { ms: FOLLOW_POLL_MS });
        self.at = At::Following { flight };
    }

    /// Goes to the origins on a miss.
    fn miss(&mut self, leader: Option<String>, collapsed: bool) {
        self.out.push(forward(Vec::new()));
        self.at = At::Miss { leader, collapsed };
    }

    /// Answers from `entry`, `age` seconds old.
    fn serve(&mut self, entry: &Entry, age: u64, status: CacheStatus) {
        let reply = reply::reply(entry, age, &self.req);
        self.out.push(Step::Serve { reply, status });
    }

    /// The origin confirmed the copy with a `304`: it is refreshed, stored again when it may be,
    /// and served.
    fn refreshed(
        &mut self,
        entry: &Entry,
        not_modified: &Fields,
        timing: Timing,
        request_field: impl Fn(&str) -> Option<String>,
        now_ms: u64,
    ) {
        let bits = RequestBits {
            get: true,
            ..admission::request_bits(&self.req)
        };
        let (primary, settings) = (&self.primary, self.settings);
        let r = refresh::refresh(entry, not_modified, bits, timing, primary, settings, now_ms);
        let mut status = CacheStatus::refreshed();
        match r.to_store {
            Ok(to_store) => {
                self.store(to_store, Source::Copy, None, request_field);
                status.stored = true;
            }
            Err(e) => status.detail = self.background.then(|| e.token().into()),
        }
        status.ttl = Some(r.ttl);
        if self.background {
            return self.revalidated(&status);
        }
        self.serve(&r.entry, r.age, status);
    }

    /// Ends a background revalidation with what its `status` says was done.
    fn revalidated(&mut self, status: &CacheStatus) {
        let why = status
            .detail
            .as_deref()
            .unwrap_or("the origins did not answer");
        let end = if status.stored {
            Ok(())
        } else {
            Err(why.into())
        };
        self.out.push(Step::Revalidated(end));
    }

    /// The origin's answer is passed on with `status` filled in, stored beside when admission
    /// allows (else `status` says why not, and a `leader` that stores nothing finishes its
    /// flight).
    fn admit(
        &mut self,
        mut status: CacheStatus,
        leader: Option<String>,
        answered: Answered,
        request_field: impl Fn(&str) -> Option<String>,
        coalescer: &mut Coalescer,
        now_ms: u64,
    ) {
        status.fwd_status = Some(answered.status);
        let admitted = answered.fields.as_ref().map(|fields| {
            let (req, primary) = (&self.req, &self.primary);
            let timing = answered.timing;
            admission::admit(
                req,
                answered.status,
                fields,
                timing,
                primary,
                self.settings,
                now_ms,
            )
        });
        match admitted {
            Some(Ok(to_store)) => {
                self.store(to_store, Source::Answer, leader, request_field);
                status.stored = true;
            }
            not_stored => {
                if let Some(Err(detail)) = not_stored {
                    status.detail = Some(detail.into());
                }
                if let Some(flight) = leader {
                    coalescer.finish(&flight, false, now_ms);
                }
            }
        }
        if self.background {
            return self.revalidated(&status);
        }
        self.out.push(Step::Pass(status));
    }

    /// Queues the storing of `to_store`.
    fn store(
        &mut self,
        to_store: ToStore,
        from: Source,
        leader: Option<String>,
        request_field: impl Fn(&str) -> Option<String>,
    ) {
        let secondary = key::secondary(&to_store.vary, request_field);
        self.out.push(Step::Store(Store {
            place: placement::place(&to_store, &self.primary, &secondary),
            to_store,
            from,
            max_bytes: self.settings.max_object_bytes,
            leader: leader.or_else(|| self.flight.take()),
        }));
    }
}

/// A forward with `validators`.
fn forward(validators: Vec<(&'static str, String)>) -> Step {
    Step::Forward { validators }
}

#[cfg(test)]
mod tests;
