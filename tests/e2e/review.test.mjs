// What an adversarial pass over the built worker found (each of these failed before its fix):
// the behaviour the README or the RFC promises for odd but legitimate requests — encoded
// separators, huge ranges, CORS preflights, Max-Forwards, origin-revealing Link headers,
// same-named cookies, a writer's reads on a caching route, dictionary parameters, and the
// operations endpoints' methods, credentials and purge URLs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { manifests, poolsConfig, ROOT, startRawOrigin, startWorker } from "./helpers.mjs";

const { symfony, cdn } = manifests();
const CSS = symfony["css/app.css"];
const CSS_LEN = cdn.entries[CSS].size;
const TOKEN = "review-token";

/**
 * A scripted origin that records every request (line and header text) and answers 200 with
 * `Cache-Control: max-age=600` (no body for HEAD); `X-Origin: name`, a 201 for POST.
 */
async function recordingOrigin(name) {
  const seen = [];
  const o = await startRawOrigin((line, headers) => {
    seen.push({ line, headers });
    const method = line.split(" ")[0];
    const body = `${name} ${seen.length}`;
    const status = method === "POST" ? "201 Created" : "200 OK";
    const head =
      `HTTP/1.1 ${status}\r\nDate: ${new Date().toUTCString()}\r\nCache-Control: max-age=600\r\n` +
      `X-Origin: ${name}\r\nAllow: GET, HEAD, POST, OPTIONS\r\nContent-Length: ${body.length}\r\n\r\n`;
    return method === "HEAD" ? head : head + body;
  });
  return { ...o, seen };
}

const cookieFrom = (r, name) =>
  [r.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith(`${name}=`))?.split(";")[0];

describe("assets", () => {
  let o, w;
  before(async () => {
    o = await recordingOrigin("origin");
    w = await startWorker({ edge: poolsConfig({ main: [o] }, { extra: { origin_auth: false } }) });
  });
  after(async () => {
    await w?.dispose();
    await o?.close();
  });

  // README "What it does for an asset request": `%2F`/`%5C` under the public path get a 400
  // naming the problem; paths outside the public path go to the origin. `/assets%2Fcss%2F…`
  // decodes to a path under `/assets/` (the router itself matches routes on that decoded path),
  // yet before its fix the edge neither served nor refused it: it was forwarded, and the origin
  // answered for an asset path the edge owns.
  test("an encoded slash right after the public path is a 400, never forwarded to an origin", async () => {
    const before = o.seen.length;
    const r = await w.request(CSS.replace(/\//g, "%2F").replace(/^%2Fassets%2F/, "/assets%2F"));
    assert.equal(r.status, 400, `status ${r.status}; body ${r.body.toString().slice(0, 80)}`);
    assert.match(r.body.toString(), /encoded slash/);
    assert.equal(o.seen.length, before, "nothing reached the origin");
  });

  // RFC 9110 §14.1.1: first-pos, last-pos and suffix-length are 1*DIGIT with no upper bound;
  // §14.1.2: a last-pos at or past the length means "to the end", a suffix-length past it means
  // the whole representation; §15.5.17: a first-pos at or past the length is unsatisfiable.
  // README: a single range `a-b`, `a-`, `-n` → 206; unsatisfiable → 416; only *malformed*
  // headers are ignored. Numbers too large for u64 are well-formed; the edge ignored them.
  test("well-formed ranges with numbers beyond 2^64 are honoured, not ignored", async () => {
    const big = "99999999999999999999";
    const to_end = await w.request(CSS, { headers: { range: `bytes=10-${big}` } });
    assert.equal(to_end.status, 206, `bytes=10-${big}`);
    assert.equal(to_end.headers["content-range"], `bytes 10-${CSS_LEN - 1}/${CSS_LEN}`);
    const suffix = await w.request(CSS, { headers: { range: `bytes=-${big}` } });
    assert.equal(suffix.status, 206, `bytes=-${big}`);
    assert.equal(suffix.headers["content-range"], `bytes 0-${CSS_LEN - 1}/${CSS_LEN}`);
    const past = await w.request(CSS, { headers: { range: `bytes=${big}-` } });
    assert.equal(past.status, 416, `bytes=${big}-`);
    assert.equal(past.headers["content-range"], `bytes */${CSS_LEN}`);
  });

  // README: CORS "as configured, because fonts and module scripts on a CDN host are
  // cross-origin" (default `["*"]`). A cross-origin fetch that is not "simple" (here one that
  // revalidates with If-None-Match) is preceded by a CORS preflight, which the Fetch standard
  // requires to get an ok (2xx) status with Access-Control-Allow-Origin; the edge answered 405
  // without any CORS header, so the browser blocked the real request.
  test("a CORS preflight for an asset gets an ok status with the CORS headers", async () => {
    const r = await w.request(CSS, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "GET", "access-control-request-headers": "if-none-match" },
    });
    assert.ok(r.status >= 200 && r.status < 300, `preflight status ${r.status}`);
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.match(r.headers["access-control-allow-methods"] ?? "", /GET/);
    assert.match(r.headers["access-control-allow-headers"] ?? "", /if-none-match/i);
  });
});

describe("proxy routes", () => {
  let o, w;
  before(async () => {
    o = await recordingOrigin("origin");
    w = await startWorker({ edge: poolsConfig({ main: [o] }, { routes: [{ path_prefix: "/", pools: ["main"], cache: { enabled: false } }], extra: { origin_auth: false } }) });
  });
  after(async () => {
    await w?.dispose();
    await o?.close();
  });

  // RFC 9110 §7.6.2: an intermediary that receives OPTIONS (or TRACE) with `Max-Forwards: 0`
  // MUST NOT forward it and must respond as the final recipient; with a larger value it MUST
  // forward the value decremented by one. The edge forwarded it untouched.
  test("OPTIONS with Max-Forwards: 0 is answered by the edge, and a larger value is decremented", async () => {
    const before = o.seen.length;
    const zero = await w.request("/page", { method: "OPTIONS", headers: { "max-forwards": "0" } });
    assert.equal(o.seen.length, before, `forwarded despite Max-Forwards: 0 (status ${zero.status})`);
    assert.ok(zero.status < 500, `answered itself, not an error: ${zero.status}`);
    await w.request("/page", { method: "OPTIONS", headers: { "max-forwards": "5" } });
    const last = o.seen.at(-1);
    assert.match(last.headers, /^max-forwards: *4$/im, `origin saw: ${last.headers}`);
  });
});

describe("origin hiding and sticky sessions", () => {
  let a, b, w, base;
  before(async () => {
    const mk = (name) =>
      startRawOrigin(() => {
        const body = "ok";
        return `HTTP/1.1 200 OK\r\nX-Origin: ${name}\r\nCache-Control: no-store\r\nLink: <${base}/assets/app.css>; rel=preload; as=style\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      });
    a = await mk("a");
    base = a.url.origin;
    b = await mk("b");
    const edge = poolsConfig({ app: [a, b] }, { routes: [{ path_prefix: "/", pools: ["app"], cache: { enabled: false } }], extra: { origin_auth: false } });
    edge.pools.app.sticky = true;
    w = await startWorker({ edge, bindings: { EDGE_COOKIE_KEY: "review-cookie-key" } });
  });
  after(async () => {
    await w?.dispose();
    await a?.close();
    await b?.close();
  });

  // README "Hiding the origins": "Only the edge is public. Responses from origins lose the
  // headers that would reveal an origin"; a URL built from an origin's own address is rewritten
  // to the public host. That was done for Location and Content-Location only: a `Link` preload
  // header built the same way (Symfony's WebLink with an absolute URL) reached the client with
  // the origin's private address and port.
  test("a Link header built from the origin's own address does not reveal it", async () => {
    const r = await w.request("/page");
    assert.equal(r.status, 200);
    const link = r.headers.link ?? "";
    assert.ok(!link.includes(`127.0.0.1:${a.url.port}`), `Link reveals the origin: ${link}`);
  });

  // RFC 6265 §4.2.2: servers SHOULD NOT rely on the order of cookies; a client can hold two
  // cookies of one name (another path or a parent domain's). The edge read only the first
  // `__edge_affinity`: a stray one in front of the valid pin unpinned the client, which was
  // silently moved to another origin (its session there lost) and re-pinned.
  test("a valid affinity pin holds even when another cookie of the same name precedes it", async () => {
    const first = await w.request("/page");
    const pin = cookieFrom(first, "__edge_affinity");
    assert.ok(pin);
    const home = first.headers["x-origin"];
    for (let i = 0; i < 4; i++) {
      const r = await w.request("/page", { headers: { cookie: `__edge_affinity=stale; ${pin}` } });
      assert.equal(r.headers["x-origin"], home, `request ${i} moved off its pinned origin`);
    }
  });
});

describe("read-your-writes on a caching route", () => {
  let replica, primary, w;
  before(async () => {
    replica = await recordingOrigin("replica");
    primary = await recordingOrigin("primary");
    w = await startWorker({
      edge: poolsConfig({ reads: [replica], writes: [primary] }, {
        routes: [{ path_prefix: "/", pools: ["reads"], write_pool: "writes", read_your_writes_s: 30 }],
        extra: { origin_auth: false },
      }),
      bindings: { EDGE_COOKIE_KEY: "review-cookie-key" },
    });
  });
  after(async () => {
    await w?.dispose();
    await replica?.close();
    await primary?.close();
  });

  // README (routes): "for read_your_writes_s seconds afterwards so do the writer's reads on that
  // route (a signed __edge_ryw cookie naming the route), so a client never reads a replica that
  // has not caught up with its own write". On a caching route (the default) the writer's read
  // was answered from the shared cache's copy of the replica's answer, made before the write.
  test("a writer holding a valid __edge_ryw cookie is not served the replica's cached copy", async () => {
    assert.equal((await w.request("/page")).headers["x-origin"], "replica");
    assert.match((await w.request("/page")).headers["cache-status"] ?? "", /hit/, "the replica's page is cached");
    const post = await w.request("/order", { method: "POST", body: "x=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(post.headers["x-origin"], "primary");
    const ryw = cookieFrom(post, "__edge_ryw");
    assert.ok(ryw, "the write sets the read-your-writes cookie");
    const read = await w.request("/page", { headers: { cookie: ryw } });
    assert.equal(read.headers["x-origin"], "primary", `the writer's read: ${read.headers["cache-status"]}, from ${read.headers["x-origin"]}`);
  });
});

describe("compression dictionaries (RFC 9842)", () => {
  let dir, w, app, dictionary;
  before(async () => {
    // Two deploys of www/assets, app.js changed in the second: its entry gets dcz/dcb deltas
    // against deploy 1's app.js.
    dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "review-dict-"));
    const src = path.join(dir, "src");
    const out = path.join(dir, "out");
    fs.cpSync(path.join(ROOT, "www/assets"), src, { recursive: true });
    const build = (id, extra = []) => {
      const args = ["build", src, "--out", out, "--quiet", "--no-cache", "--no-fingerprint", "errors/**", "--deploy-id", id, ...extra];
      const r = spawnSync(path.join(ROOT, "target/release/asset-builder"), args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    build("d1");
    const first = fs.readFileSync(path.join(src, "js/app.js"));
    dictionary = crypto.createHash("sha256").update(fs.readFileSync(path.join(out, JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))["js/app.js"]))).digest();
    fs.writeFileSync(path.join(src, "js/app.js"), Buffer.concat([first, Buffer.from("\nconsole.log('deploy 2');\n")]));
    build("d2", ["--history", out]);
    app = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))["js/app.js"];
    w = await startWorker({ edge: { public_path: "/assets/" }, assets: out });
  });
  after(async () => {
    await w?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // RFC 9842 §2.2: Available-Dictionary is a Structured Field Item (RFC 8941) whose value is a
  // Byte Sequence. Items carry parameters (RFC 8941 §3.1.2/§4.2.3), which a recipient parses
  // and ignores when it does not know them. A valid value with a parameter was treated as no
  // dictionary at all: the client that had the dictionary got the full response.
  test("an Available-Dictionary byte sequence with a parameter still names the dictionary", async () => {
    const plain = await w.request(app, { headers: { "available-dictionary": `:${dictionary.toString("base64")}:`, "accept-encoding": "dcz" } });
    assert.equal(plain.headers["content-encoding"], "dcz", "the delta exists for this dictionary");
    const r = await w.request(app, { headers: { "available-dictionary": `:${dictionary.toString("base64")}:;v=1`, "accept-encoding": "dcz" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-encoding"], "dcz", `got ${r.headers["content-encoding"] ?? "identity"}`);
  });
});

describe("operations endpoints", () => {
  let o, w;
  before(async () => {
    o = await recordingOrigin("origin");
    w = await startWorker({ edge: poolsConfig({ main: [o] }, { extra: { origin_auth: false } }), bindings: { EDGE_HEALTH_TOKEN: TOKEN } });
  });
  after(async () => {
    await w?.dispose();
    await o?.close();
  });

  const purge = (body) =>
    w.request("/__edge/purge", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  // README: `GET /__edge/health` / `GET /__edge/status`; the purge endpoint answers 405 with
  // Allow for the wrong method, but health and status answered 200 to any method (RFC 9110
  // §15.5.6: 405 with Allow for a method the resource does not support).
  test("health and status refuse methods other than GET and HEAD with 405 and Allow", async () => {
    for (const [method, p] of [["POST", "/__edge/health"], ["DELETE", "/__edge/health"], ["PUT", "/__edge/status"]]) {
      const r = await w.request(p, { method, headers: { authorization: `Bearer ${TOKEN}` }, body: "" });
      assert.equal(r.status, 405, `${method} ${p}`);
      assert.match(r.headers.allow ?? "", /GET/, `${method} ${p}`);
    }
  });

  // RFC 9110 §11.1: the authentication scheme is a case-insensitive token (RFC 6750 §2.1 too:
  // `bearer` and `Bearer` are the same scheme). The edge compared `Bearer <token>` byte for byte.
  test("the Bearer scheme is matched case-insensitively", async () => {
    for (const scheme of ["bearer", "BEARER"]) {
      const r = await w.request("/__edge/health", { headers: { authorization: `${scheme} ${TOKEN}` } });
      assert.equal(r.status, 200, scheme);
    }
  });

  // RFC 3986 §3.1: schemes are case-insensitive (and the cache key itself lower-cases them),
  // yet the purge endpoint refused `HTTPS://…` as "not an absolute http(s) URL".
  test("a purge URL with an upper-case scheme is accepted", async () => {
    const r = await purge({ urls: [`HTTPS://shop.example.com/`] });
    assert.equal(r.status, 200, r.body.toString());
  });

  // The edge's promise: bad input gets a clear error, never a silent success. URLs that no
  // request can ever have (no host, a broken IPv6 literal, a port past 65535) were "purged" with
  // 200, so an operator's typo looked like a successful purge.
  test("a purge URL that is not a valid URL is refused with 400 naming it", async () => {
    for (const url of ["http://", "http://[", "https://shop.example.com:99999/x"]) {
      const r = await purge({ urls: [url] });
      assert.equal(r.status, 400, `${url}: ${r.status} ${r.body.toString().trim()}`);
      assert.ok(r.body.toString().includes(url), `${url} named`);
    }
  });

  // README: purges by URL purge "every variant" of it. Clients' URLs reach the cache
  // percent-encoded (`/caf%C3%A9`), but a purge of the same URL written as an IRI (`/café`),
  // as an operator types it, was keyed on the raw text: the answer was 200 and the stored page
  // stayed a fresh hit.
  test("purging a URL with a non-ASCII path purges the page clients requested", async () => {
    const p = "/caf%C3%A9";
    await w.request(p);
    assert.match((await w.request(p)).headers["cache-status"] ?? "", /hit/, "stored");
    const r = await purge({ urls: [`http://127.0.0.1:${w.url.port}/café`] });
    assert.equal(r.status, 200, r.body.toString());
    const after = await w.request(p);
    assert.doesNotMatch(after.headers["cache-status"] ?? "", /hit/, `after the purge: ${after.headers["cache-status"]}`);
  });
});
