// The runtime calls of the edge's request path, written once in JavaScript: imported by the
// Rust glue (`src/js.rs`, through wasm-bindgen) and by the entry module (`entry.mjs`).
//
// The calls that cross into the runtime on every proxied request, each written once in
// JavaScript so that it is one crossing rather than one per header or option: reading a
// message's fields (`forEach`: no iterator result or entry array per field), applying the
// core's edits (`HeaderEdits::encode`'s lines), and the origin fetch with its head-only
// timeout. A client's streamed body goes to the origin through a stream of the edge's own
// (`watched`; a `FixedLengthStream` keeps its declared length), for three reasons:
// - the runtime reports a body that broke off and a lost origin alike, and only the pump can
//   tell them apart: it aborts the fetch with a `ClientBodyError`
//   (`edge_core::proxy::failure::CLIENT_BODY_ERROR`), which the plan counts as the client's
//   fault, not the origin's; aborting (rather than erroring the stream, which workerd ends like
//   a complete chunked body) makes the origin see the upload cut off;
// - the attempt timeout bounds the wait for the response head *after* the body has been sent:
//   a slow upload (a phone sending a photo) is not an origin that does not answer;
// - while the body is sent, the same timeout bounds each wait for progress: a client that
//   stalls is its own failure, an origin that takes no more is a timed-out attempt.
// Also here, for the cache and interim origins: the Cache API's calls, a body read whole up to a
// size, and a socket opened.
import { connect } from 'cloudflare:sockets';
export function header_fields(h) { let s = ''; h.forEach((v, k) => { s += k + '\n' + v + '\n'; }); return s; }
/**
 * Applies `HeaderEdits::encode`'s lines in `e`, from offset `at`, to the headers `h`; a field the
 * runtime refuses throws a `TypeError` that names it.
 */
export function apply(h, e, at = 0) {
  for (let i = at; i < e.length; ) {
    const a = e.indexOf('\n', i);
    if (a < 0) break;
    const op = e[i], name = e.slice(i + 1, a);
    if (op === '-') { h.delete(name); i = a + 1; continue; }
    const b = e.indexOf('\n', a + 1);
    if (b < 0) break;
    const value = e.slice(a + 1, b);
    try {
      if (op === '=') h.set(name, value); else h.append(name, value);
    } catch (err) {
      throw new TypeError('header ' + name + ' refused by the runtime: ' + (err && err.message));
    }
    i = b + 1;
  }
}
/**
 * `new Response(body, {status, statusText, headers})`, the fields in `e` (`encode_fields`);
 * `manual`: the body is content-coded already (`encodeBody: "manual"`, not compressed again).
 */
export function new_response(status, reason, e, body, manual) {
  const headers = new Headers();
  apply(headers, e);
  const init = { status, headers };
  if (reason !== undefined) init.statusText = reason;
  if (manual) init.encodeBody = 'manual';
  return new Response(body ?? null, init);
}
export function edit_headers(h, e) { apply(h, e); }
export function edited_copy(h, e) { const c = new Headers(h); apply(c, e); return c; }
export function rebuilt(r, e) { const o = new Response(r.body, init_of(r)); apply(o.headers, e); return o; }
/** `r`'s body split in two: `r` rebuilt around one half (passed on), and the other half; `[r, null]` without a body. */
export function teed(r) {
  if (!r.body) return [r, null];
  const [a, b] = r.body.tee();
  return [new Response(a, init_of(r)), b];
}
/**
 * A reason phrase the runtime refuses in a response it builds: one with a control character.
 * RFC 9112 allows a tab in it, and clients ignore it, so such an origin's answer is passed on
 * without it (the status's usual phrase) rather than failed. (Over a socket, edge-core's
 * `proxy::interim` passes only a printable one.)
 */
const REFUSED_REASON = /[\x00-\x1f]/;
/** `r` as the init of a response rebuilt from it: its status text left out when refused. */
function init_of(r) { return REFUSED_REASON.test(r.statusText) ? { status: r.status, headers: r.headers } : r; }
function watched(body, headers, ms, at) {
  const n = headers.get('content-length');
  const t = n !== null && /^[0-9]{1,15}$/.test(n) ? new FixedLengthStream(Number(n)) : new IdentityTransformStream();
  const r = body.getReader(), w = t.writable.getWriter();
  // One timer per `ms`, not one per chunk: it checks that some chunk moved since it last ran.
  let moved = false, who = 'client', tick = 0;
  const check = () => { if (at.done) return; if (!moved) return at.stalled(who); moved = false; tick = setTimeout(check, ms); };
  tick = setTimeout(check, ms);
  at.stop = () => clearTimeout(tick);
  (async () => {
    for (;;) {
      who = 'client';
      let c;
      try { c = await r.read(); } catch (e) { at.stop(); at.broke(e); return; }
      moved = true;
      if (c.done) { at.stop(); w.close().catch(() => {}); at.sent(); return; }
      who = 'origin';
      try { await w.write(c.value); } catch (e) { at.stop(); r.cancel(e).catch(() => {}); return; }
      moved = true;
    }
  })();
  return t.readable;
}
function client_error(message) {
  const e = new Error("the client's request body " + message);
  e.name = 'ClientBodyError';
  return e;
}
function stalled(ms) { return client_error('stalled: nothing came for ' + ms + ' ms'); }
function timeout(what) { return new DOMException('no ' + what + ' within the attempt timeout', 'TimeoutError'); }
function streamed(url, init, body, ms, ctl) {
  const at = { done: false, head: 0, stop: () => {} };
  at.sent = () => { if (!at.done) at.head = setTimeout(() => ctl.abort(timeout('response head')), ms); };
  at.broke = (e) => { if (!at.done) ctl.abort(client_error('broke off: ' + (e && e.message))); };
  at.stalled = (who) => { if (!at.done) ctl.abort(who === 'client' ? stalled(ms) : timeout('progress sending the request body')); };
  init.body = watched(body, init.headers, ms, at);
  return fetch(url, init).finally(() => { at.done = true; clearTimeout(at.head); at.stop(); });
}
export async function read_whole(req, ms) {
  const r = req.body.getReader(), parts = [];
  let n = 0, idle = 0;
  try {
    for (;;) {
      const c = await new Promise((ok, fail) => {
        idle = setTimeout(() => fail(stalled(ms)), ms);
        r.read().then(ok, fail);
      }).finally(() => clearTimeout(idle));
      if (c.done) break;
      parts.push(c.value);
      n += c.value.length;
    }
  } catch (e) {
    r.cancel(e).catch(() => {});
    throw e && e.name === 'ClientBodyError' ? e : client_error('broke off: ' + (e && e.message));
  }
  return joined(parts, n);
}
function joined(parts, n) {
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) { out.set(p, n); n += p.length; }
  return out;
}
/** A stream's bytes, whole; null (the stream cancelled) past `max` bytes. */
export async function read_bounded(stream, max) {
  const r = stream.getReader(), parts = [];
  for (let n = 0; ;) {
    const c = await r.read();
    if (c.done) return joined(parts, n);
    n += c.value.length;
    if (n > max) { r.cancel().catch(() => {}); return null; }
    parts.push(c.value);
  }
}
/** `binding.fetch(url, …)` (a service binding, a Durable Object's stub), `range` and `body` when given. */
export function binding_fetch(binding, url, method, range, body) {
  const init = { method };
  if (range !== undefined) init.headers = { range };
  if (body !== undefined) init.body = body;
  return binding.fetch(url, init);
}
/** A promise resolved after `ms` by a runtime timer, which `clear_sleep(p)` clears. */
export function sleep(ms) {
  let id = 0;
  const p = new Promise((done) => { id = setTimeout(done, ms); });
  p.timer = id;
  return p;
}
export function clear_sleep(p) { clearTimeout(p.timer); }
export function cache_match(key) { return caches.default.match(key); }
export function cache_put(key, resp) { return caches.default.put(key, resp); }
/** A TCP socket to `hostname:port`, over TLS when `tls`. */
export function open_socket(hostname, port, tls) {
  return connect({ hostname, port }, { secureTransport: tls ? 'on' : 'off', allowHalfOpen: false });
}
export function origin_fetch(url, method, headers, body, ms) {
  const ctl = new AbortController();
  const init = { method, headers, redirect: 'manual', signal: ctl.signal };
  if (body instanceof ReadableStream) return streamed(url, init, body, ms, ctl);
  if (body !== undefined && body !== null) init.body = body;
  const t = setTimeout(() => ctl.abort(timeout('response head')), ms);
  return fetch(url, init).finally(() => clearTimeout(t));
}
