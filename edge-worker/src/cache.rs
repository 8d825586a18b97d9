//! The shared HTTP cache's I/O: two levels of storage — hot copies in isolate memory in front
//! of the Workers Cache API (`caches.default`) — waiting for another request's fetch of the same
//! key, background revalidation and storing. Every decision is edge-core's `cache` module; the
//! order of the steps is its `cache::flow` state machine, which [`serve`] and the background
//! revalidation drive.

use std::rc::Rc;
use std::time::Duration;

use edge_core::answer::Answer;
use edge_core::cache::entry::Entry;
use edge_core::cache::flow::revalidation::{self, Revalidation};
use edge_core::cache::flow::{Answered, Flow, Source, Step, Store};
use edge_core::cache::key;
use edge_core::cache::placement::COPY_STATUS;
use edge_core::cache::reply::Reply;
use edge_core::cache::request::CacheRequest;
use edge_core::cache::stored::{Found, Stored};
use edge_core::cache::walk::Walk;
use edge_core::proxy::exchange::Exchange;
use edge_core::router::{self, Decision};
use edge_core::routes::{Route, Upstream};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, ReadableStream, Request, Response};
use worker::{console_error, console_log, Context};

use crate::js;
use crate::proxy;
use crate::state::{now_ms, send, State};

/// What the isolate keeps in memory under a storage key (bodies stay JavaScript bytes).
pub(crate) type Hot = Stored<Uint8Array>;

/// Work done after the response has gone (`ctx.waitUntil`). One future type for all of it:
/// each distinct future handed to the runtime costs its own promise glue in the Wasm.
pub(crate) enum Task {
    /// Put a response into the cache (its body still streaming, or already read).
    Store { store: Store, body: Body },
    /// Revalidate a stale copy (stale-while-revalidate).
    Revalidate { url: String, headers: Headers },
    /// Record a purge with the coordinator.
    Purge { tags: Vec<String> },
    /// Refresh this isolate's copy of the coordinator's snapshot (verdicts, purge log).
    RefreshCoordinator,
    /// Write the request log lines held, after this many ms.
    FlushLog(u64),
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
        Task::Store { store: s, body } => store(&state, s, body).await,
        Task::Revalidate { url, headers } => revalidate(&state, &url, &headers).await,
        Task::Purge { tags } => {
            let Some(ns) = &state.coordinator else { return };
            if let Err(e) = crate::coordinator::purge(ns, &tags).await {
                console_error!("edge-worker: purge not recorded by the coordinator: {e}");
            }
        }
        Task::RefreshCoordinator => {
            let Some(ns) = &state.coordinator else { return };
            match crate::coordinator::snapshot(ns).await {
                Ok(snap) => state.adopt(snap),
                Err(e) => console_error!("edge-worker: reading the coordinator's snapshot: {e}"),
            }
        }
        Task::FlushLog(ms) => {
            let (_timer, fired) = js::timer(ms);
            let _ = fired.await;
            if let Some(text) = state.log.borrow_mut().due() {
                console_log!("{text}");
            }
        }
    }
}

pub(crate) fn later(state: &Rc<State>, ctx: &Context, task: Task) {
    ctx.wait_until(run(state.clone(), task));
}

/// Serves a request on a caching route: runs its cache flow (edge-core's `cache::flow`), doing
/// the I/O each step names — lookups, health, waits, the forward, stores, purges — until the
/// flow answers from the stored copy, passes the origin's answer on, or answers itself.
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
    let creq = CacheRequest::read(&req.method(), get, settings);
    let mut inbound = match proxy::read(&req, url, state) {
        Ok(i) => i,
        Err(answer) => return send(answer),
    };
    inbound.path_and_query = creq.origin_target(&inbound.path_and_query, settings);
    let deadline = state.config.retry.deadline_ms;
    let mut flow = Flow::new(creq, url, &inbound.public_origin, settings, deadline);
    let arrived_ms = inbound.facts.started_ms;
    let mut x = proxy::exchange(state, route, upstream, inbound);
    let (mut copy, mut sent) = (None, None);
    while let Some(step) = flow.next_step() {
        match step {
            Step::Lookup => copy = lookup(state, &mut flow, &get).await,
            Step::CheckOrigins => flow.origins(x.all_down(&state.pools.borrow(), now_ms())),
            Step::Wait { ms } => {
                x.count_deadline_from(arrived_ms); // waiting on the leader is origin time
                worker::Delay::from(Duration::from_millis(ms)).await;
                flow.waited(&state.coalescer.borrow(), now_ms());
            }
            Step::Revalidate => revalidate_later(state, ctx, url, &js)?,
            Step::Forward { validators } => {
                x.add_edits(validators);
                let out = proxy::forward(&req, &mut x, state).await;
                let fw = match out {
                    Ok(Ok(fw)) => fw,
                    out => {
                        flow.abandon(&mut state.coalescer.borrow_mut(), now_ms());
                        return send(out?.err().unwrap_or_else(Answer::edge_failed));
                    }
                };
                let pages = &state.config.error_pages;
                let get = |n: &str| fw.headers.as_ref()?.get(n).ok().flatten();
                let answered = answered(&fw.resp, || x.answer(pages, 0).status, x.timing(now_ms()));
                flow.answered(answered, get, &mut state.coalescer.borrow_mut(), now_ms());
                sent = Some(fw.resp);
            }
            Step::Store(store) => {
                let body = match (store.from, &mut sent) {
                    (Source::Copy, _) => copy.clone().map_or(Body::None, Body::Bytes),
                    (Source::Answer, Some(resp)) => tee(resp)?,
                    (Source::Answer, None) => Body::None,
                };
                later(state, ctx, Task::Store { store, body });
            }
            Step::Purge(tags) => purge(state, ctx, tags),
            Step::Serve { reply, status } => {
                x.set_cache_status(status);
                if x.intercepts(reply.status) {
                    // A stored origin error: the route's own page, as on the miss.
                    return proxy::own_answer(&x, &req, reply.status, state).await;
                }
                let body = copy.filter(|_| reply.body);
                return serve_stored(state, reply, body, &x);
            }
            Step::Pass(status) => {
                x.set_cache_status(status);
                return proxy::finish(sent.flatten(), &x, &req, state).await;
            }
            Step::Answer(answer) => return send(answer),
        }
    }
    // Unreachable: every flow ends with an answer.
    send(Answer::text(502, "502 Bad Gateway\n"))
}

/// Starts the background revalidation of `url` (stale-while-revalidate) in the edge's name:
/// the `client`'s request fields less its credentials and conditions.
fn revalidate_later(
    state: &Rc<State>,
    ctx: &Context,
    url: &str,
    client: &Headers,
) -> worker::Result<()> {
    let get = |n: &str| client.get(n).ok().flatten();
    let headers = js::edited(client, &revalidation::client_edits(get))?;
    later(
        state,
        ctx,
        Task::Revalidate {
            url: url.into(),
            headers,
        },
    );
    Ok(())
}

/// Looks the flow's request up and reports what it found; returns the stored copy's body.
async fn lookup(
    state: &State,
    flow: &mut Flow<'_>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Option<Uint8Array> {
    let found = lookup_stored(state, flow.primary(), get).await;
    let (entry, body) = found.map_or((None, None), |(e, b)| (Some(e), b));
    let purges = &state.coord.borrow().0.purges;
    flow.found(entry, purges, &mut state.coalescer.borrow_mut(), now_ms());
    body
}

/// Purges `tags` in this isolate at once, and with the coordinator after the response.
fn purge(state: &Rc<State>, ctx: &Context, tags: Vec<String>) {
    state.purge_here(&tags, now_ms());
    later(state, ctx, Task::Purge { tags });
}

/// What a forward gave, as the flow reads it: the origin's answer `resp`, or the edge's own
/// (its status from `own`), and when it was asked and answered.
fn answered(resp: &Option<Response>, own: impl FnOnce() -> u16, timing: (u64, u64)) -> Answered {
    let fields = resp.as_ref().map(|r| js::fields(&r.headers()));
    let status = resp.as_ref().map_or_else(own, Response::status);
    Answered::new(status, fields.as_ref(), timing)
}

/// Splits an origin's response body in two: the response passed on (streaming) takes its
/// place, the other half is the body to store.
fn tee(resp: &mut Option<Response>) -> worker::Result<Body> {
    let Some(r) = resp else {
        return Ok(Body::None);
    };
    let parts = r.body().map(|b| b.tee());
    let part = |i| parts.as_ref()?.get(i).dyn_into::<ReadableStream>().ok();
    let client =
        Response::new_with_opt_readable_stream_and_init(part(0).as_ref(), r.unchecked_ref())?;
    *resp = Some(client);
    Ok(part(1).map_or(Body::None, Body::Stream))
}

/// Answers from a stored response as the flow's `reply` says (the exchange `x` holds the
/// request and what the cache did); logged.
fn serve_stored(
    state: &State,
    reply: Reply,
    body: Option<Uint8Array>,
    x: &Exchange<'_>,
) -> worker::Result<Response> {
    let pairs = reply.fields.0.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let out = js::response(reply.status, pairs, body.map(JsValue::from).as_ref(), false)?;
    let get = |n: &str| reply.fields.first(n).map(str::to_string);
    js::edit(
        &out.headers(),
        &proxy::passed_on(x, reply.status, get, state),
    )?;
    proxy::log_request(x, reply.status, state);
    Ok(out)
}

/// The stored response for a request: under the primary key, or under the variant its `Vary`
/// fields select (the primary key then holds a marker listing them). Isolate memory first, then
/// the Cache API (whose copies are then kept in memory too).
async fn lookup_stored(
    state: &State,
    primary: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Option<(Entry, Option<Uint8Array>)> {
    let mut walk = Walk::new(primary);
    while let Some(key) = walk.next_key() {
        let hot = state.hot.borrow_mut().get(&key).cloned();
        let hot = match hot {
            Some(h) => h,
            None => load(state, &key).await?,
        };
        if let Some(found) = walk.found(hot, get) {
            return Some(found);
        }
    }
    None
}

/// Reads a copy from the Cache API into isolate memory.
async fn load(state: &State, key: &str) -> Option<Hot> {
    let found = js::settled(js::cache_match(key)).await.ok()?;
    let found: Response = found.dyn_into().ok()?;
    let h = found.headers();
    let (hot, size) = match Found::read(|n| h.get(n).ok().flatten())? {
        Found::Marker(names) => Stored::marker(names),
        Found::Copy(entry) => {
            let bytes = js::bytes(&found).await.ok()?;
            let len = bytes.length() as usize;
            Stored::copy(entry, Some(bytes), len)
        }
    };
    state
        .hot
        .borrow_mut()
        .insert(key.to_string(), hot.clone(), size);
    Some(hot)
}

/// Stores a response as the flow's `s` says: reads its body (bounded), puts the copy — and, when
/// it varies, the marker under the primary key — into the Cache API and isolate memory. Tells
/// waiting followers.
async fn store(state: &State, s: Store, body: Body) {
    let result = async {
        let bytes = match body {
            Body::Stream(b) => {
                let read = js::settled(js::read_bounded(&b, s.max_bytes as f64)).await;
                let bytes = read.ok().and_then(|v| v.dyn_into().ok());
                Some(bytes.ok_or("too large or unreadable")?)
            }
            Body::Bytes(b) => Some(b),
            Body::None => None,
        };
        let len = bytes.as_ref().map_or(0, |b| b.length() as usize);
        for w in s.place.writes(s.to_store, bytes, len) {
            let fields = w.fields.iter().map(|(n, v)| (*n, v.as_str()));
            let body = w.body.map(JsValue::from);
            let copy = js::response(COPY_STATUS, fields, body.as_ref(), false);
            let copy = copy.map_err(|_| "response")?;
            let put = js::settled(js::cache_put(&w.key, &copy)).await;
            put.map_err(|e| format!("cache put: {e}"))?;
            let (kept, size) = w.kept;
            state.hot.borrow_mut().insert(w.key, kept, size);
        }
        Ok::<(), String>(())
    }
    .await;
    if let Err(why) = &result {
        console_error!("edge-worker: not stored in the cache: {why}");
    }
    if let Some(flight) = s.leader {
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
    let (settings, deadline) = (&upstream.cache, state.config.retry.deadline_ms);
    let now = now_ms();
    let joined = Revalidation::join(
        url,
        settings,
        &mut state.coalescer.borrow_mut(),
        now,
        deadline,
    );
    let Some(mut r) = joined else { return };
    if let Err(why) = refetch(state, &mut r, url, headers, route, upstream).await {
        console_error!("edge-worker: background revalidation of {url}: {why}");
    }
    r.finish(&mut state.coalescer.borrow_mut(), now_ms());
}

/// Runs a background revalidation's steps: the lookup, the request (conditional when a copy was
/// found) and the storing of what it brings.
async fn refetch(
    state: &State,
    r: &mut Revalidation<'_>,
    url: &str,
    headers: &Headers,
    route: &Route,
    upstream: &Upstream,
) -> Result<(), &'static str> {
    let get = |n: &str| headers.get(n).ok().flatten();
    let (mut copy, mut sent) = (None, None);
    while let Some(step) = r.next_step() {
        match step {
            revalidation::Step::Lookup => {
                let found = lookup_stored(state, r.primary(), &get).await;
                r.found(found.map(|(entry, body)| {
                    copy = body;
                    entry
                }));
            }
            revalidation::Step::Forward { validators } => {
                let init = js::request_init("GET", Some(headers), None);
                let req = Request::new_with_str_and_init(url, &init).map_err(|_| "request")?;
                let mut read = proxy::read(&req, url, state).map_err(|_| "refused")?;
                let ignore = &upstream.cache.ignore_query;
                read.path_and_query = key::forwarded(&read.path_and_query, ignore);
                let mut x = proxy::exchange(state, route, upstream, read);
                x.add_edits(validators);
                let fw = proxy::forward(&req, &mut x, state).await;
                let fw = fw.map_err(|_| "forward")?.map_err(|_| "refused")?;
                let get = |n: &str| fw.headers.as_ref()?.get(n).ok().flatten();
                let pages = &state.config.error_pages;
                let own = || x.answer(pages, 0).status;
                r.answered(answered(&fw.resp, own, x.timing(now_ms())), get, now_ms());
                sent = fw.resp;
            }
            revalidation::Step::Store(s) => {
                let body = match s.from {
                    Source::Copy => copy.clone().map_or(Body::None, Body::Bytes),
                    Source::Answer => sent
                        .as_ref()
                        .and_then(Response::body)
                        .map_or(Body::None, Body::Stream),
                };
                store(state, *s, body).await;
            }
            revalidation::Step::Fail(why) => return Err(why),
        }
    }
    Ok(())
}
