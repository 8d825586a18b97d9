//! The shared HTTP cache's I/O: two levels of storage — hot copies in isolate memory in front
//! of the Workers Cache API (`caches.default`) — waiting for another request's fetch of the same
//! key, background revalidation and storing. Every decision is edge-core's `cache` module; the
//! order of the steps is its `cache::flow` state machine, which [`serve`] drives for a client's
//! request and for a background revalidation alike.

use std::rc::Rc;
use std::time::Duration;

use edge_core::answer::Answer;
use edge_core::cache::entry::Entry;
use edge_core::cache::flow::revalidation;
use edge_core::cache::flow::{Answered, Flow, Source, Step, Store};
use edge_core::cache::placement::COPY_STATUS;
use edge_core::cache::reply::Reply;
use edge_core::cache::request::CacheRequest;
use edge_core::cache::stored::{Found, Stored};
use edge_core::cache::walk::Walk;
use edge_core::coordinator::{Ask, Snapshot};
use edge_core::proxy::exchange::Exchange;
use edge_core::proxy::plan::reads_own_writes;
use edge_core::router::{self, Decision};
use edge_core::routes::{Route, Upstream};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, ReadableStream, Request, RequestInit, Response};
use worker::{console_error, console_log, Context};

use crate::coordinator::ask;
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
    /// Revalidate a stale copy (stale-while-revalidate): `url` with the request `headers`
    /// (the runtime's context, for the store it leads to).
    Revalidate {
        url: String,
        headers: Headers,
        ctx: Context,
    },
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
        Task::Revalidate { url, headers, ctx } => {
            if let Err(e) = revalidate(&state, &ctx, &url, headers).await {
                console_error!("edge-worker: background revalidation of {url}: {e}");
            }
        }
        Task::Purge { tags } => {
            let Some(ns) = &state.coordinator else { return };
            if let Err(e) = ask(ns, &Ask::Purge(tags)).await {
                console_error!("edge-worker: purge not recorded by the coordinator: {e}");
            }
        }
        Task::RefreshCoordinator => {
            let Some(ns) = &state.coordinator else { return };
            match ask(ns, &Ask::Snapshot)
                .await
                .and_then(|t| Snapshot::from_answer(&t))
            {
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
/// flow answers from the stored copy, passes the origin's answer on, or answers itself. A
/// `background` revalidation ([`Flow::background`]) answers no one: `None`.
pub(crate) async fn serve(
    req: Request,
    url: &str,
    (route, upstream): (&Route, &Upstream),
    state: &Rc<State>,
    ctx: &Context,
    background: bool,
) -> worker::Result<Option<Response>> {
    let settings = &upstream.cache;
    let js = req.headers();
    let get = |n: &str| js.get(n).ok().flatten();
    let mut creq = CacheRequest::read(&req.method(), get, settings);
    let mut inbound = match proxy::read(&req, url, state) {
        Ok(i) => i,
        Err(answer) => return send(answer).map(Some),
    };
    let to = (route, upstream);
    creq.writer = reads_own_writes(&state.config, &state.cookie_key, to, &inbound.facts);
    inbound.path_and_query = creq.origin_target(&inbound.path_and_query, settings);
    let deadline = state.config.retry.deadline_ms;
    let mut flow = if background {
        let mut coalescer = state.coalescer.borrow_mut();
        let flow = Flow::background(creq, url, settings, &mut coalescer, now_ms(), deadline);
        let Some(flow) = flow else { return Ok(None) }; // under way in this isolate
        flow
    } else {
        Flow::new(creq, url, &inbound.public_origin, settings, deadline)
    };
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
                sent = Some(forward(&req, &mut x, &mut flow, state).await?);
            }
            Step::Store(store) => match body_to_store(store.from, &copy, &mut sent, background) {
                Ok(body) => later(state, ctx, Task::Store { store, body }),
                Err(e) => {
                    store.refused(&mut state.coalescer.borrow_mut(), now_ms());
                    return Err(e);
                }
            },
            Step::Purge(tags) => purge(state, ctx, tags),
            Step::Serve { reply, status } => {
                x.set_cache_status(status);
                return serve_stored(&req, reply, copy, &x, state).await.map(Some);
            }
            Step::Pass(status) => {
                x.set_cache_status(status);
                return proxy::finish(sent.flatten(), &x, &req, state)
                    .await
                    .map(Some);
            }
            Step::Answer(answer) => return send(answer).map(Some),
            Step::Revalidated(end) => {
                js::discard(sent.flatten()); // the half of the `tee` that goes to no one
                return end.map(|()| None).map_err(worker::Error::RustError);
            }
        }
    }
    Ok(None) // every client's flow ends with its answer
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
    let js_ctx: &JsValue = ctx.as_ref().as_ref();
    let task = Task::Revalidate {
        url: url.into(),
        headers,
        ctx: Context::new(js_ctx.clone().unchecked_into()),
    };
    later(state, ctx, task);
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

/// Runs the exchange `x`'s attempts and tells the `flow` what they gave; the origin's answer
/// (`None`: the edge answers). When none could be made, the flow is abandoned with the edge's
/// own answer.
async fn forward(
    req: &Request,
    x: &mut Exchange<'_>,
    flow: &mut Flow<'_>,
    state: &State,
) -> worker::Result<Option<Response>> {
    let fw = match proxy::forward(req, x, state).await {
        Ok(Ok(fw)) => fw,
        Ok(Err(answer)) => {
            flow.abandon(answer, &mut state.coalescer.borrow_mut(), now_ms());
            return Ok(None);
        }
        Err(e) => {
            let answer = Answer::edge_failed();
            flow.abandon(answer, &mut state.coalescer.borrow_mut(), now_ms());
            return Err(e);
        }
    };
    let fields = fw.resp.as_ref().map(|r| js::fields(&r.headers()));
    let own = || x.answer(&state.config.error_pages, 0).status;
    let status = fw.resp.as_ref().map_or_else(own, Response::status);
    let answered = Answered::new(status, fields.as_ref(), x.timing(now_ms()));
    let get = |n: &str| fw.headers.as_ref()?.get(n).ok().flatten();
    flow.answered(answered, get, &mut state.coalescer.borrow_mut(), now_ms());
    Ok(fw.resp)
}

/// The body a store takes: the stored `copy`'s (refreshed by a `304`), or the answer's. A
/// background revalidation's answer goes to no one, so all of its body is stored; a client's is
/// split in two, the response passed on (streaming) taking its place in `sent`.
fn body_to_store(
    from: Source,
    copy: &Option<Uint8Array>,
    sent: &mut Option<Option<Response>>,
    background: bool,
) -> worker::Result<Body> {
    if from == Source::Copy {
        return Ok(copy.clone().map_or(Body::None, Body::Bytes));
    }
    let Some(answer) = sent.as_mut().and_then(Option::take) else {
        return Ok(Body::None);
    };
    let (client, other) = match background {
        true => (None, answer.body()),
        false => js::tee(&answer).map(|(c, o)| (Some(c), o))?,
    };
    *sent = Some(client);
    Ok(other.map_or(Body::None, Body::Stream))
}

/// Answers `req` from a stored response (its `body`) as the flow's `reply` says (the exchange
/// `x` holds the request and what the cache did), or with the route's own page for a stored
/// origin error; logged.
async fn serve_stored(
    req: &Request,
    reply: Reply,
    body: Option<Uint8Array>,
    x: &Exchange<'_>,
    state: &State,
) -> worker::Result<Response> {
    if x.intercepts(reply.status) {
        // A stored origin error: the route's own page, as on the miss.
        return proxy::own_answer(x, req, reply.status, state).await;
    }
    let body = body.filter(|_| reply.body).map(JsValue::from);
    let pairs = reply.fields.0.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let out = js::response(reply.status, None, pairs, body.as_ref(), false)?;
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
            let copy = js::response(COPY_STATUS, None, fields, body.as_ref(), false);
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
/// request (conditional when a copy is found; one per key per isolate), whose answer refreshes
/// or replaces the copy.
async fn revalidate(
    state: &Rc<State>,
    ctx: &Context,
    url: &str,
    headers: Headers,
) -> worker::Result<()> {
    let Decision::Proxy(route, upstream) = router::decide(url, &state.config) else {
        return Ok(());
    };
    let init = RequestInit::new();
    init.set_headers(&headers);
    let req = Request::new_with_str_and_init(url, &init)?;
    match serve(req, url, (route, upstream), state, ctx, true).await? {
        Some(answer) => Err(format!("not sent: the edge answered {}", answer.status()).into()),
        None => Ok(()),
    }
}
