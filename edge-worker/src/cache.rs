//! The shared HTTP cache's I/O: two levels of storage — hot copies in isolate memory in front
//! of the Workers Cache API (`caches.default`) — waiting for another request's fetch of the same
//! key, background revalidation and storing. Every decision is edge-core's `cache` module: what
//! is stored, for how long, which copy answers, when to go forward.

use std::collections::BTreeMap;
use std::rc::Rc;

use edge_core::answer::Answer;
use edge_core::balancer::health::PoolVerdicts;
use edge_core::cache::admission;
use edge_core::cache::coalesce::{Flight, Role};
use edge_core::cache::conditional;
use edge_core::cache::entry::{storage_url, Entry, META_HEADER};
use edge_core::cache::forward::{After, Forward};
use edge_core::cache::freshness::Timing;
use edge_core::cache::headers::Fields;
use edge_core::cache::invalidate;
use edge_core::cache::key;
use edge_core::cache::lookup::{self, StaleWhy, Use};
use edge_core::cache::marker::{self, VARY_MARKER_HEADER};
use edge_core::cache::placement;
use edge_core::cache::refresh;
use edge_core::cache::reply;
use edge_core::cache::request::CacheRequest;
use edge_core::cache::status::CacheStatus;
use edge_core::cache::storable::{self, RequestBits, ToStore};
use edge_core::proxy::inbound::Inbound;
use edge_core::proxy::plan::Plan;
use edge_core::router::{self, Decision};
use edge_core::routes::{Route, Upstream};
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReadableStream, Request, RequestInit, Response};
use worker::{console_error, Context};

use crate::js;
use crate::proxy::{self, Forwarded, Prepared};
use crate::state::{now_ms, send, State};

/// How often a follower looks whether the leader's fetch is done.
const FOLLOW_POLL_MS: u64 = 5;
/// Largest copy kept in isolate memory.
const MEMORY_MAX_ITEM: usize = 1 << 20;

/// What the isolate keeps in memory under a storage key.
#[derive(Clone)]
pub(crate) enum Hot {
    /// The responses under this primary key vary on these fields.
    Marker(Vec<String>),
    /// A stored response and its body.
    Copy(Rc<(Entry, Option<Uint8Array>)>),
}

/// A request on a caching route, with what every step of serving it needs.
struct Call<'a> {
    req: &'a Request,
    url: &'a str,
    creq: CacheRequest,
    primary: String,
    route: &'a Route,
    upstream: &'a Upstream,
    state: &'a Rc<State>,
    ctx: &'a Context,
}

/// A stored response found for a request.
struct Stored {
    entry: Entry,
    body: Option<Uint8Array>,
}

/// Work done after the response has gone (`ctx.waitUntil`). One future type for all of it:
/// each distinct future handed to the runtime costs its own promise glue in the Wasm.
pub(crate) enum Task {
    /// Put a response into the cache (its body still streaming, or already read).
    Store {
        primary: String,
        secondary: String,
        to_store: ToStore,
        body: Body,
        max: u64,
        leader: Option<String>,
    },
    /// Revalidate a stale copy (stale-while-revalidate).
    Revalidate { url: String, headers: Headers },
    /// Record a purge with the coordinator.
    Purge { tags: Vec<String> },
    /// Refresh this isolate's copy of the coordinator's snapshot (verdicts, purge log).
    RefreshCoordinator,
}

/// A body to store.
pub(crate) enum Body {
    None,
    Stream(ReadableStream),
    Bytes(Uint8Array),
}

/// Runs a task after the response (the only future handed to `ctx.wait_until`).
pub(crate) async fn run(state: Rc<State>, task: Task) {
    match task {
        Task::Store {
            primary,
            secondary,
            to_store,
            body,
            max,
            leader,
        } => store(&state, &primary, &secondary, to_store, body, max, leader).await,
        Task::Revalidate { url, headers } => revalidate(&state, &url, &headers).await,
        Task::Purge { tags } => {
            if let Some(ns) = &state.coordinator {
                if let Err(e) = crate::coordinator::purge(ns, &tags).await {
                    console_error!("edge-worker: purge not recorded by the coordinator: {e}");
                }
            }
        }
        Task::RefreshCoordinator => {
            if let Some(ns) = &state.coordinator {
                match crate::coordinator::snapshot(ns).await {
                    Ok(snap) => state.adopt(snap),
                    Err(e) => {
                        console_error!("edge-worker: reading the coordinator's snapshot: {e}")
                    }
                }
            }
        }
    }
}

fn later(state: &Rc<State>, ctx: &Context, task: Task) {
    ctx.wait_until(run(state.clone(), task));
}

/// Serves a request on a caching route: from the cache when a stored response may answer it,
/// else through the route's pools (storing what may be stored).
pub(crate) async fn serve(
    req: Request,
    url: &str,
    route: &Route,
    upstream: &Upstream,
    state: &Rc<State>,
    ctx: &Context,
) -> worker::Result<Response> {
    let settings = &upstream.cache;
    let js = req.headers();
    let get = |n: &str| js.get(n).ok().flatten();
    let c = Call {
        req: &req,
        url,
        creq: CacheRequest::read(&req.method(), get, settings),
        primary: key::primary(url, &settings.ignore_query),
        route,
        upstream,
        state,
        ctx,
    };
    let inbound = match proxy::read(&req, url, state) {
        Ok(i) => i,
        Err(answer) => return send(answer),
    };
    if let Some(why) = c.creq.bypass(settings) {
        return bypass(&c, why, inbound).await;
    }
    let plan = Plan::new(
        &state.config,
        route,
        upstream,
        inbound.facts.clone(),
        &state.cookie_key,
    );
    let Some(stored) = lookup_stored(state, &c.primary, &get).await else {
        if c.creq.cc.has("only-if-cached") {
            return send(Answer::text(
                504,
                "504 Gateway Timeout: not in the cache (only-if-cached)\n",
            ));
        }
        let p = proxy::outbound(&req, inbound).await?;
        return miss(&c, p).await;
    };
    let (decision, purged, verdicts) = decide(&c, &stored, &plan);
    match decision {
        Use::Fresh { age, ttl } => {
            let status = CacheStatus::hit(ttl);
            serve_stored(&c, stored, age, status, &inbound, &plan, None)
        }
        Use::Stale { age, ttl, why } => serve_stale(&c, stored, age, ttl, why, &inbound, &plan),
        Use::Forward {
            revalidate,
            stale_on_error,
        } => {
            let fwd = Forward::new(revalidate, stale_on_error, &c.creq);
            forward_with_copy(&c, stored, fwd, purged, verdicts, inbound, plan).await
        }
    }
}

/// The lookup's decision for a found copy, whether a purge made it stale, and the health
/// verdicts when they were read (only a copy that may answer while the origins fail needs them).
fn decide(
    c: &Call<'_>,
    stored: &Stored,
    plan: &Plan<'_>,
) -> (Use, bool, Option<BTreeMap<String, PoolVerdicts>>) {
    let (state, settings) = (c.state, &c.upstream.cache);
    let now = now_ms();
    let purged = state
        .coord
        .borrow()
        .0
        .purges
        .purged(&stored.entry.tags, stored.entry.stored_ms);
    let decision = lookup::decide(&stored.entry, &c.creq, settings, now, purged, false);
    if !matches!(
        decision,
        Use::Forward {
            stale_on_error: true,
            ..
        }
    ) {
        return (decision, purged, None);
    }
    let verdicts = crate::health::verdicts_for(state, plan.chain());
    let decision = if plan.all_down(&state.pools.borrow(), &verdicts, now) {
        lookup::decide(&stored.entry, &c.creq, settings, now, purged, true)
    } else {
        decision
    };
    (decision, purged, Some(verdicts))
}

/// A request that must not use the cache: passed to the origin (an unsafe one invalidates what
/// it changed).
async fn bypass(c: &Call<'_>, why: &str, inbound: Inbound) -> worker::Result<Response> {
    let mut p = proxy::outbound(c.req, inbound).await?;
    let (mut plan, verdicts) = proxy::plan_for(&p, c.route, c.upstream, c.state).await;
    let fw = proxy::forward(&mut p, &mut plan, &verdicts, c.state).await?;
    if !c.creq.readable {
        invalidate_after(&fw, c.url, &p, c.upstream, c.state, c.ctx);
    }
    let status = CacheStatus::bypass(why, status_of(&fw));
    count(c.state, &status);
    proxy::finish(fw, &plan, &p, c.req, c.upstream, c.state, Some(&status)).await
}

/// Serves a stale copy the lookup allowed (revalidating it in the background when that is why).
fn serve_stale(
    c: &Call<'_>,
    stored: Stored,
    age: u64,
    ttl: i64,
    why: StaleWhy,
    inbound: &Inbound,
    plan: &Plan<'_>,
) -> worker::Result<Response> {
    if why == StaleWhy::WhileRevalidate {
        let headers = Headers::new_with_headers(&c.req.headers())?;
        let url = c.url.to_string();
        later(c.state, c.ctx, Task::Revalidate { url, headers });
    }
    let status = CacheStatus::stale_hit(ttl, why.token());
    serve_stored(c, stored, age, status, inbound, plan, None)
}

/// Goes to the origin although a copy was found (conditionally when it can be revalidated), then
/// serves the copy after all, refreshes it from a `304`, or passes the answer on.
async fn forward_with_copy(
    c: &Call<'_>,
    stored: Stored,
    fwd: Forward,
    purged: bool,
    verdicts: Option<BTreeMap<String, PoolVerdicts>>,
    inbound: Inbound,
    mut plan: Plan<'_>,
) -> worker::Result<Response> {
    let mut p = proxy::outbound(c.req, inbound).await?;
    if fwd.sends_validators() {
        for (name, value) in conditional::validators(&stored.entry) {
            p.headers.set(name, &value)?;
        }
    }
    let verdicts = match verdicts {
        Some(v) => v,
        None => crate::health::verdicts_for(c.state, plan.chain()),
    };
    let fw = proxy::forward(&mut p, &mut plan, &verdicts, c.state).await?;
    let answered = fw.result.as_ref().ok().map(Response::status);
    match fwd.after(answered, &stored.entry, &c.upstream.cache, now_ms(), purged) {
        After::Stale { age, ttl } => {
            let status = CacheStatus::stale_if_error(ttl, status_of(&fw));
            serve_stored(
                c,
                stored,
                age,
                status,
                &p.inbound,
                &plan,
                Some(fw.origin_ms),
            )
        }
        After::Refresh => refreshed(c, stored, fw, &p, &plan),
        After::Pass => {
            let base = CacheStatus::forward("stale");
            store_and_finish(c, fw, base, None, &p, &plan).await
        }
    }
}

/// A miss: one request per key fetches it (the others wait for it and share the stored result).
async fn miss(c: &Call<'_>, mut p: Prepared) -> worker::Result<Response> {
    let state = c.state;
    let flight = storage_url(&c.primary, None);
    let deadline = state.config.retry.deadline_ms;
    let role = state
        .coalescer
        .borrow_mut()
        .join(&flight, now_ms(), deadline);
    let (mut plan, verdicts) = proxy::plan_for(&p, c.route, c.upstream, state).await;
    let mut collapsed = false;
    if role == Role::Follower {
        loop {
            worker::Delay::from(std::time::Duration::from_millis(FOLLOW_POLL_MS)).await;
            let flight_state = state.coalescer.borrow().poll(&flight, now_ms(), deadline);
            match flight_state {
                Flight::Pending => continue,
                Flight::Done { stored: true } => {
                    collapsed = true;
                    let js = c.req.headers();
                    let get = |n: &str| js.get(n).ok().flatten();
                    if let Some(stored) = lookup_stored(state, &c.primary, &get).await {
                        let settings = &c.upstream.cache;
                        let decision = lookup::decide(
                            &stored.entry,
                            &c.creq,
                            settings,
                            now_ms(),
                            false,
                            false,
                        );
                        if let Use::Fresh { age, ttl } = decision {
                            let status = CacheStatus {
                                collapsed: true,
                                ..CacheStatus::hit(ttl)
                            };
                            return serve_stored(c, stored, age, status, &p.inbound, &plan, None);
                        }
                    }
                    break;
                }
                Flight::Done { stored: false } | Flight::Gone => break,
            }
        }
    }
    let fw = proxy::forward(&mut p, &mut plan, &verdicts, state).await?;
    let base = CacheStatus {
        collapsed,
        ..CacheStatus::forward("uri-miss")
    };
    // A pass (last response not storable) reports too: a storable answer ends the pass.
    let leader = (role != Role::Follower).then_some(flight);
    store_and_finish(c, fw, base, leader, &p, &plan).await
}

/// Passes an origin's answer on, storing it beside when it may be stored (the body is teed: the
/// client's copy streams, the stored copy is read in the background, bounded).
async fn store_and_finish(
    c: &Call<'_>,
    mut fw: Forwarded,
    mut status: CacheStatus,
    leader: Option<String>,
    p: &Prepared,
    plan: &Plan<'_>,
) -> worker::Result<Response> {
    status.fwd_status = status_of(&fw);
    let mut stored = false;
    if let Ok(r) = &fw.result {
        let timing = Timing {
            request_ms: fw.sent_ms,
            response_ms: fw.received_ms,
        };
        let fields = fields_of(&r.headers());
        let settings = &c.upstream.cache;
        let now = now_ms();
        match admission::admit(
            &c.creq,
            r.status(),
            &fields,
            timing,
            &c.primary,
            settings,
            now,
        ) {
            Ok(to_store) => {
                let secondary = key::secondary(&to_store.vary, |n| p.headers.get(n).ok().flatten());
                let (client, body) = tee(r)?;
                fw.result = Ok(client);
                let task = Task::Store {
                    primary: c.primary.clone(),
                    secondary,
                    to_store,
                    body,
                    max: settings.max_object_bytes,
                    leader: leader.clone(),
                };
                later(c.state, c.ctx, task);
                stored = true;
                status.stored = true;
            }
            Err(detail) => status.detail = Some(detail.into()),
        }
    }
    if let (false, Some(flight)) = (stored, &leader) {
        c.state
            .coalescer
            .borrow_mut()
            .finish(flight, false, now_ms());
    }
    count(c.state, &status);
    proxy::finish(fw, plan, p, c.req, c.upstream, c.state, Some(&status)).await
}

/// Splits a response's body in two: the response passed on (streaming) and the body to store.
fn tee(r: &Response) -> worker::Result<(Response, Body)> {
    let (client, keep) = match r.body() {
        Some(b) => {
            let parts = b.tee();
            (
                parts.get(0).dyn_into::<ReadableStream>().ok(),
                parts.get(1).dyn_into::<ReadableStream>().ok(),
            )
        }
        None => (None, None),
    };
    let client =
        Response::new_with_opt_readable_stream_and_init(client.as_ref(), r.unchecked_ref())?;
    Ok((client, keep.map_or(Body::None, Body::Stream)))
}

/// The stored response was still good (the origin answered `304`): it is refreshed with the
/// 304's fields, stored again and served.
fn refreshed(
    c: &Call<'_>,
    stored: Stored,
    fw: Forwarded,
    p: &Prepared,
    plan: &Plan<'_>,
) -> worker::Result<Response> {
    let Ok(not_modified) = &fw.result else {
        return send(Answer::text(502, "502 Bad Gateway\n"));
    };
    let timing = Timing {
        request_ms: fw.sent_ms,
        response_ms: fw.received_ms,
    };
    let bits = RequestBits {
        get: true,
        ..admission::request_bits(&c.creq)
    };
    let settings = &c.upstream.cache;
    let fields = fields_of(&not_modified.headers());
    let r = refresh::refresh(
        &stored.entry,
        &fields,
        bits,
        timing,
        &c.primary,
        settings,
        now_ms(),
    );
    let mut status = CacheStatus::refreshed();
    if let Ok(to_store) = r.to_store {
        let secondary = key::secondary(&to_store.vary, |n| p.headers.get(n).ok().flatten());
        let task = Task::Store {
            primary: c.primary.clone(),
            secondary,
            to_store,
            body: stored.body.clone().map_or(Body::None, Body::Bytes),
            max: settings.max_object_bytes,
            leader: None,
        };
        later(c.state, c.ctx, task);
        status.stored = true;
    }
    status.ttl = Some(r.ttl);
    let stored = Stored {
        entry: r.entry,
        body: stored.body,
    };
    serve_stored(
        c,
        stored,
        r.age,
        status,
        &p.inbound,
        plan,
        Some(fw.origin_ms),
    )
}

/// Answers from a stored response (a `304` when the client's own conditional holds).
fn serve_stored(
    c: &Call<'_>,
    stored: Stored,
    age: u64,
    status: CacheStatus,
    inbound: &Inbound,
    plan: &Plan<'_>,
    origin_ms: Option<u64>,
) -> worker::Result<Response> {
    let reply = reply::reply(&stored.entry, age, &c.creq);
    let body = stored.body.filter(|_| reply.body);
    let pairs = reply.fields.0.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let out = js::response(reply.status, pairs, body.map(JsValue::from).as_ref(), false)?;
    proxy::hygiene(&out.headers(), inbound, c.state)?;
    proxy::annotate(&out, Some(&status), inbound.facts.started_ms, origin_ms);
    count(c.state, &status);
    proxy::log_request(
        plan,
        &inbound.method,
        reply.status,
        None,
        Some(&status),
        c.state,
    );
    Ok(out)
}

/// The stored response for a request: under the primary key, or under the variant its `Vary`
/// fields select (the primary key then holds a marker listing them). Isolate memory first, then
/// the Cache API (whose copies are then kept in memory too).
async fn lookup_stored(
    state: &State,
    primary: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Option<Stored> {
    let mut key = storage_url(primary, None);
    for _ in 0..2 {
        let hot = state.hot.borrow_mut().get(&key).cloned();
        let hot = match hot {
            Some(h) => h,
            None => load(state, &key).await?,
        };
        match hot {
            Hot::Marker(names) => key = storage_url(primary, Some(&key::secondary(&names, get))),
            Hot::Copy(c) => {
                return Some(Stored {
                    entry: c.0.clone(),
                    body: c.1.clone(),
                })
            }
        }
    }
    None
}

/// Reads a copy from the Cache API into isolate memory.
async fn load(state: &State, key: &str) -> Option<Hot> {
    let found = cache_match(key).await?;
    let h = found.headers();
    let (hot, size) = match h.get(VARY_MARKER_HEADER).ok().flatten() {
        Some(names) => (Hot::Marker(marker::decode(&names)), 64),
        None => {
            let entry = Entry::decode(&h.get(META_HEADER).ok().flatten()?)?;
            let bytes = js::bytes(&found).await.ok()?;
            let size = bytes.length() as usize + 512;
            let body = (bytes.length() > 0).then_some(bytes);
            (Hot::Copy(Rc::new((entry, body))), size)
        }
    };
    if size <= MEMORY_MAX_ITEM {
        state
            .hot
            .borrow_mut()
            .insert(key.to_string(), hot.clone(), size);
    }
    Some(hot)
}

/// Stores a response: reads its body (bounded), puts the copy — and, when it varies, the marker
/// under the primary key — into the Cache API and isolate memory. Tells waiting followers.
async fn store(
    state: &State,
    primary: &str,
    secondary: &str,
    to_store: ToStore,
    body: Body,
    max: u64,
    leader: Option<String>,
) {
    let result = async {
        let bytes = match body {
            Body::Stream(b) => Some(
                read_bounded(b, max)
                    .await
                    .ok_or("too large or unreadable")?,
            ),
            Body::Bytes(b) => Some(b),
            Body::None => None,
        };
        let place = placement::place(&to_store, primary, secondary);
        let ttl = place.cache_control.as_str();
        let meta = to_store.entry.encode();
        // Always 200 in the Cache API (which keeps only some statuses); the entry has the real one.
        let copy = js::response(
            200,
            [("cache-control", ttl), (META_HEADER, meta.as_str())],
            bytes.as_ref().map(JsValue::from).as_ref(),
            false,
        )
        .map_err(|_| "response")?;
        cache_put(&place.key, &copy).await?;
        let size = bytes.as_ref().map_or(0, |b| b.length() as usize) + 512;
        let body = bytes.filter(|b| b.length() > 0);
        let copy = Hot::Copy(Rc::new((to_store.entry, body)));
        state.hot.borrow_mut().insert(place.key, copy, size);
        if let Some((key, names)) = place.marker {
            let fields = [("cache-control", ttl), (VARY_MARKER_HEADER, names.as_str())];
            let marker = js::response(200, fields, None, false).map_err(|_| "response")?;
            cache_put(&key, &marker).await?;
            let marker = Hot::Marker(to_store.vary);
            state.hot.borrow_mut().insert(key, marker, 64);
        }
        Ok::<(), &'static str>(())
    }
    .await;
    if let Err(why) = result {
        console_error!("edge-worker: not stored in the cache: {why}");
    }
    if let Some(flight) = leader {
        state
            .coalescer
            .borrow_mut()
            .finish(&flight, result.is_ok(), now_ms());
    }
}

/// Revalidates a stale stored response after it was served (stale-while-revalidate): one
/// conditional request (one per key per isolate), whose answer refreshes or replaces the copy.
async fn revalidate(state: &State, url: &str, headers: &Headers) {
    let Decision::Proxy(route, upstream) = router::decide(url, &state.config) else {
        return;
    };
    let primary = key::primary(url, &upstream.cache.ignore_query);
    let flight = format!("revalidate {}", storage_url(&primary, None));
    if state
        .coalescer
        .borrow_mut()
        .join(&flight, now_ms(), state.config.retry.deadline_ms)
        == Role::Follower
    {
        return;
    }
    let stored = lookup_stored(state, &primary, &|n| headers.get(n).ok().flatten()).await;
    let result = refetch(state, url, headers, route, upstream, &primary, stored).await;
    if let Err(why) = result {
        console_error!("edge-worker: background revalidation of {url}: {why}");
    }
    state.coalescer.borrow_mut().finish(&flight, true, now_ms());
}

/// The background revalidation's request (conditional when a copy was found) and the storing of
/// what it brings: the copy refreshed by a `304`, or the new response.
async fn refetch(
    state: &State,
    url: &str,
    headers: &Headers,
    route: &Route,
    upstream: &Upstream,
    primary: &str,
    stored: Option<Stored>,
) -> Result<(), &'static str> {
    let init = RequestInit::new();
    init.set_headers(headers);
    let req = Request::new_with_str_and_init(url, &init).map_err(|_| "request")?;
    let mut p = proxy::prepare(&req, url, state)
        .await
        .map_err(|_| "prepare")?
        .map_err(|_| "refused")?;
    if let Some(s) = &stored {
        for (name, value) in conditional::validators(&s.entry) {
            p.headers.set(name, &value).map_err(|_| "headers")?;
        }
    }
    let (mut plan, verdicts) = proxy::plan_for(&p, route, upstream, state).await;
    let fw = proxy::forward(&mut p, &mut plan, &verdicts, state)
        .await
        .map_err(|_| "forward")?;
    let timing = Timing {
        request_ms: fw.sent_ms,
        response_ms: fw.received_ms,
    };
    let Ok(r) = &fw.result else {
        return Err("the origins did not answer");
    };
    let (settings, bits) = (&upstream.cache, RequestBits::BACKGROUND);
    let fields = fields_of(&r.headers());
    let (to_store, body) = match (r.status(), stored) {
        (304, Some(s)) => (
            refresh::refresh(&s.entry, &fields, bits, timing, primary, settings, now_ms()).to_store,
            s.body.map_or(Body::None, Body::Bytes),
        ),
        (status, _) => (
            storable::decide(bits, status, &fields, timing, primary, settings, now_ms()),
            r.body().map_or(Body::None, Body::Stream),
        ),
    };
    let to_store = to_store.map_err(|e| e.token())?;
    let secondary = key::secondary(&to_store.vary, |n| headers.get(n).ok().flatten());
    let max = settings.max_object_bytes;
    store(state, primary, &secondary, to_store, body, max, None).await;
    Ok(())
}

/// After a successful unsafe request: its URL (and the same-origin `Location` and
/// `Content-Location`) are purged, and so are the tags the origin lists in the purge header.
fn invalidate_after(
    fw: &Forwarded,
    url: &str,
    p: &Prepared,
    upstream: &Upstream,
    state: &Rc<State>,
    ctx: &Context,
) {
    let Ok(r) = &fw.result else { return };
    let h = r.headers();
    let tags = invalidate::after_unsafe(
        url,
        r.status(),
        |n| h.get(n).ok().flatten(),
        &p.inbound.public_origin,
        &upstream.cache,
    );
    if tags.is_empty() {
        return;
    }
    state
        .coord
        .borrow_mut()
        .0
        .purges
        .purge(tags.iter().map(String::as_str), now_ms());
    later(state, ctx, Task::Purge { tags });
}

/// Counts the outcome for `/__edge/health`.
fn count(state: &State, status: &CacheStatus) {
    state
        .counters
        .borrow_mut()
        .record(status.outcome(), status.collapsed, status.stored);
}

fn status_of(fw: &Forwarded) -> Option<u16> {
    match &fw.result {
        Ok(r) => Some(r.status()),
        Err(a) => Some(a.status),
    }
}

/// Every field line of a response (`Set-Cookie` lines kept apart).
pub(crate) fn fields_of(h: &Headers) -> Fields {
    let mut out = Vec::new();
    if let Ok(Some(iter)) = js_sys::try_iter(h) {
        for pair in iter.flatten() {
            let pair: Array = pair.unchecked_into();
            if let (Some(n), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((n.to_ascii_lowercase(), v));
            }
        }
    }
    Fields(out)
}

/// Reads a stream to its end, giving up (and cancelling it) past `max` bytes.
async fn read_bounded(stream: ReadableStream, max: u64) -> Option<Uint8Array> {
    let reader: JsValue = stream.get_reader().into();
    let read = Reflect::get(&reader, &"read".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let chunks = Array::new();
    let mut total: u64 = 0;
    loop {
        let result = JsFuture::from(
            read.call0(&reader)
                .ok()?
                .dyn_into::<js_sys::Promise>()
                .ok()?,
        )
        .await
        .ok()?;
        if Reflect::get(&result, &"done".into()).ok()?.is_truthy() {
            break;
        }
        let chunk: Uint8Array = Reflect::get(&result, &"value".into())
            .ok()?
            .dyn_into()
            .ok()?;
        total += u64::from(chunk.length());
        if total > max {
            if let Ok(cancel) = Reflect::get(&reader, &"cancel".into())
                .and_then(|c| c.dyn_into::<js_sys::Function>())
            {
                let _ = cancel.call0(&reader);
            }
            return None;
        }
        chunks.push(&chunk);
    }
    let out = Uint8Array::new_with_length(u32::try_from(total).ok()?);
    let mut at = 0u32;
    for c in chunks.iter() {
        let c: Uint8Array = c.unchecked_into();
        out.set(&c, at);
        at += c.length();
    }
    Some(out)
}

/// `caches.default`.
fn default_cache() -> Option<JsValue> {
    let caches = Reflect::get(&js_sys::global(), &"caches".into()).ok()?;
    Reflect::get(&caches, &"default".into())
        .ok()
        .filter(|c| c.is_object())
}

async fn cache_match(url: &str) -> Option<Response> {
    let cache = default_cache()?;
    let f = Reflect::get(&cache, &"match".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let p = f
        .call1(&cache, &url.into())
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    JsFuture::from(p).await.ok()?.dyn_into::<Response>().ok()
}

async fn cache_put(url: &str, resp: &Response) -> Result<(), &'static str> {
    let cache = default_cache().ok_or("no Cache API")?;
    let f = Reflect::get(&cache, &"put".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("no put")?;
    let p = f
        .call2(&cache, &url.into(), resp)
        .map_err(|_| "put refused")?;
    JsFuture::from(p.dyn_into::<js_sys::Promise>().map_err(|_| "put")?)
        .await
        .map_err(|e| {
            console_error!("edge-worker: cache put: {}", js::text(e));
            "put failed"
        })?;
    Ok(())
}
