// A floor for bench/edge-cpu.mjs: the edge's proxy features for a plain GET, written the way one
// would by hand in JavaScript — the request's headers copied less the hop-by-hop and edge-owned
// ones, X-Forwarded-* set from the connection, the origin fetch with redirects passed back and a
// timeout on the response head, the response rebuilt (its headers are immutable) less the
// headers that reveal the origin, plus Server-Timing. No routing, pools, retries, cookies or
// logs. The edge worker against this floor is what our Rust/Wasm implementation costs over the
// same work done directly; this floor against the bare Rust forwarder is what the features
// themselves cost on the platform.
const HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "proxy-authenticate", "proxy-authorization"];
const EDGE_OWNED = ["x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip", "x-edge-auth"];
const HIDDEN = ["host", "x-powered-by", "x-debug-token", "x-debug-token-link", "server"];
const TIMEOUT_MS = 5000;

export default {
  async fetch(req, env) {
    const started = Date.now();
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    for (const name of (req.headers.get("connection") ?? "").split(",")) if (name.trim()) headers.delete(name.trim());
    for (const name of HOP) headers.delete(name);
    for (const name of EDGE_OWNED) headers.delete(name);
    const ip = req.headers.get("cf-connecting-ip") ?? "127.0.0.1";
    const xff = req.headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", xff ? `${xff}, ${ip}` : ip);
    headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
    headers.set("x-forwarded-host", url.hostname);
    headers.set("x-forwarded-port", url.port || (url.protocol === "https:" ? "443" : "80"));
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException("no response head in time", "TimeoutError")), TIMEOUT_MS);
    let resp;
    try {
      resp = await fetch(env.ORIGIN + url.pathname + url.search, { method: req.method, headers, body: req.body, redirect: "manual", signal: abort.signal });
    } catch (e) {
      return new Response(`502 Bad Gateway: ${e.name}\n`, { status: 502 });
    } finally {
      clearTimeout(timer);
    }
    const out = new Response(resp.body, resp);
    for (const name of (resp.headers.get("connection") ?? "").split(",")) if (name.trim()) out.headers.delete(name.trim());
    for (const name of HOP) out.headers.delete(name);
    for (const name of HIDDEN) out.headers.delete(name);
    out.headers.append("server-timing", `edge;dur=${Date.now() - started}`);
    return out;
  },
};
