// The worker's entry module (wrangler's `main`; `make worker` copies it beside worker-build's
// output). A request with no body on a proxy route that does not cache (or a session's GET on one
// that does: see edge-core's proxy/exchange.rs) is carried out here, with the runtime's own
// calls, asking the Rust core what to do at each step (edge-core's `proxy/entry_protocol.rs`
// lists the calls and their answers: two for a GET that succeeds); every other request, and the
// cron trigger, go to the Rust handlers workers-rs exports (`src/lib.rs`). Why: see the README's
// "Why the JavaScript entry".
import Rust, { EdgeCoordinator } from "../index.js";
import { apply, header_fields, origin_fetch, rebuilt } from "./runtime.mjs";

export { EdgeCoordinator };

/**
 * The Rust module's exports (`edge_*`, see `src/driven.rs`): worker-build (0.8.7, pinned)
 * attaches each wasm-bindgen export to the prototype of the entrypoint class it exports, and
 * exports nothing else of the module.
 */
const core = Rust.prototype;

/**
 * Ends the exchange of a request the runtime cancelled (its client went away mid-attempt: the
 * `finally` below then never runs), once its state is collected: the attempt is abandoned, no
 * longer counted in flight. Handles are checked, so a late or repeated end is harmless.
 */
const cancelled = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((h) => core.edge_end(h)) : null;

export default {
  async fetch(req, env, ctx) {
    const began = core.edge_begin(req.method, req.url, header_fields(req.headers), req.body !== null);
    // Through workers-rs's own entry, which also re-creates the Wasm instance after a panic.
    if (began === undefined) return new Rust(ctx, env).fetch(req);
    const line = began.indexOf("\n");
    const h = Number(began.slice(0, line - 2));
    if (began[line - 1] === "1") ctx.waitUntil(core.edge_refresh());
    const x = { h, ended: false, flushMs: -1 };
    cancelled?.register(x, h, x);
    try {
      return await drive(req, x, began.slice(line + 1));
    } catch (e) {
      // The runtime failed a step (the Rust handler answers the same way).
      return core.edge_failed(req.method, req.url, String(e?.message ?? e));
    } finally {
      cancelled?.unregister(x);
      if (!x.ended) x.flushMs = core.edge_end(h);
      if (x.flushMs >= 0) ctx.waitUntil(new Promise((done) => setTimeout(done, x.flushMs)).then(() => core.edge_flush_log()));
    }
  },
  scheduled(controller, env, ctx) {
    return new Rust(ctx, env).scheduled(controller);
  },
};

/** Exchange `x`'s attempts from `step` on, as the core names them, until one answer is the client's. */
async function drive(req, x, step) {
  let last = null;
  for (;;) {
    if (step === "L" && last) return respond(req, x, last);
    if (step[0] !== "a") break;
    let at = 0;
    for (let i = 0; i < 5; i++) at = step.indexOf("\n", at) + 1;
    const [, method, url, ms, how] = step.slice(0, at - 1).split("\n");
    const headers = new Headers(req.headers);
    apply(headers, step, at);
    let resp = null;
    let reply;
    try {
      resp = how === "s" ? await core.edge_interim(x.h, headers, undefined) : await origin_fetch(url, method, headers, undefined, Number(ms));
      // An interim head handed over as the response: the final one is read over a socket.
      if (resp.status === 100 || resp.status === 102 || resp.status === 103) resp = await core.edge_interim(x.h, headers, resp);
      reply = core.edge_report(x.h, resp.status, header_fields(resp.headers), undefined, undefined);
    } catch (e) {
      discard(resp);
      resp = null;
      reply = core.edge_report(x.h, 0, undefined, String(e?.name ?? "Error"), String(e?.message ?? e));
    }
    if (reply[0] === "R") {
      if (last !== resp) discard(last);
      return finish(resp, x, reply);
    }
    if (reply === "I") {
      discard(last);
      discard(resp);
      return core.edge_answer(x.h, req, resp.status);
    }
    if (reply[0] === "K") {
      discard(last);
      last = resp;
    } else discard(resp);
    step = reply[0] === "A" ? "A" : reply.slice(1);
  }
  discard(last);
  return core.edge_answer(x.h, req, 0);
}

/** The kept answer passed on, or the route's own page for its error. */
function respond(req, x, resp) {
  const reply = core.edge_respond(x.h, resp.status, header_fields(resp.headers));
  if (reply !== undefined) return finish(resp, x, reply);
  discard(resp);
  return core.edge_answer(x.h, req, resp.status);
}

/** An origin's answer made the client's: `reply` is `R`, the log's flush ms, then the edits. */
function finish(resp, x, reply) {
  const line = reply.indexOf("\n");
  x.ended = true;
  x.flushMs = Number(reply.slice(1, line));
  return rebuilt(resp, reply.slice(line + 1));
}

/** Lets go of an answer that is not passed on. */
function discard(resp) {
  resp?.body?.cancel().catch(() => {});
}
