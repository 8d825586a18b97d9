// The worker's entry module (wrangler's `main`; the build copies it beside worker-build's
// output). A request with no body on a proxy route that does not cache is carried out here, with
// the runtime's own calls, asking the Rust core what to do at each step (`src/driven.rs`: the
// calls and their answers); every other request, and the cron trigger, go to the Rust handlers
// that workers-rs exports (`src/lib.rs`). Driven from here, a proxied GET costs the CPU of a bare
// Rust forwarder; driven from Rust it cost 1.15× that (see the README's Benchmarks).
import Rust, { EdgeCoordinator } from "../index.js";
import { apply, header_fields, origin_fetch, rebuilt } from "./runtime.mjs";

export { EdgeCoordinator };

/** The Rust module's exports (`edge_*`, see `src/driven.rs`), as worker-build attaches them. */
const core = Rust.prototype;

export default {
  async fetch(req, env, ctx) {
    const began = core.edge_begin(req.method, req.url, header_fields(req.headers), req.body !== null);
    // Through workers-rs's own entry, which also re-creates the Wasm instance after a panic.
    if (began === undefined) return new Rust(ctx, env).fetch(req);
    const h = began & 0x7fffffff;
    if (began >>> 31) ctx.waitUntil(core.edge_refresh());
    try {
      return await drive(req, h);
    } finally {
      const ms = core.edge_end(h);
      if (ms >= 0) ctx.waitUntil(new Promise((done) => setTimeout(done, ms)).then(() => core.edge_flush_log()));
    }
  },
  scheduled(controller, env, ctx) {
    return new Rust(ctx, env).scheduled(controller);
  },
};

/** The attempts of exchange `h`, as the core names them, until one answer is the client's. */
async function drive(req, h) {
  let last = null;
  for (;;) {
    const next = core.edge_next(h);
    if (next.length === 1) return ended(next, req, h, last, null);
    let at = 0;
    for (let i = 0; i < 4; i++) at = next.indexOf("\n", at) + 1;
    const [method, url, ms, how] = next.slice(0, at - 1).split("\n");
    const headers = new Headers(req.headers);
    apply(headers, next, at);
    let resp = null;
    let code;
    try {
      resp = how === "s" ? await core.edge_interim(h, headers, undefined) : await origin_fetch(url, method, headers, undefined, Number(ms));
      // An interim head handed over as the response: the final one is read over a socket.
      if (resp.status === 100 || resp.status === 102 || resp.status === 103) resp = await core.edge_interim(h, headers, resp);
      code = core.edge_report(h, resp.status, undefined, undefined);
    } catch (e) {
      discard(resp);
      resp = null;
      code = core.edge_report(h, 0, String(e?.name ?? "Error"), String(e?.message ?? e));
    }
    if (code === "R") {
      if (last !== resp) discard(last);
      return respond(resp, req, h);
    }
    if (code === "K") {
      discard(last);
      last = resp;
    } else if (code === "N") discard(resp);
    else return ended(code, req, h, last, resp);
  }
}

/** The attempts ended: the last answer kept (`L`), or the edge's own (`A`). */
function ended(code, req, h, last, current) {
  discard(current);
  if (code === "L" && last) return respond(last, req, h);
  discard(last);
  return core.edge_answer(h, req, 0);
}

/** An origin's answer made the client's, or the route's own page for its error. */
function respond(resp, req, h) {
  const edits = core.edge_respond(h, resp.status, header_fields(resp.headers));
  if (edits !== undefined) return rebuilt(resp, edits);
  discard(resp);
  return core.edge_answer(h, req, resp.status);
}

/** Lets go of an answer that is not passed on. */
function discard(resp) {
  resp?.body?.cancel().catch(() => {});
}
