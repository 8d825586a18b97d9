// The request plan end to end: what the edge answers when origins fail in every way it knows,
// which route takes a request, what is denied, and that in-flight accounting survives clients
// that hang up. Real Symfony origins (php -S) and scripted raw-HTTP origins, the built worker
// in Miniflare.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startRawOrigin, startTap, startWorker } from "./helpers.mjs";

const SECRETS = { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "plan-token" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dead = (port) => ({ url: `http://127.0.0.1:${port}` });

describe("answers when origins fail", () => {
  let a, b, w;
  before(async () => {
    a = await startOrigin({ name: "plan-a" });
    b = await startOrigin({ name: "plan-b" });
  });
  after(async () => {
    await w?.dispose();
    await a?.stop();
    await b?.stop();
  });

  test("every origin down, with more origins than max_attempts: 503 with Retry-After", async () => {
    w = await startWorker({ edge: poolsConfig({ dc1: [dead(9), dead(11), dead(13)], dc2: [dead(15)] }, { extra: { max_attempts: 3 } }), bindings: SECRETS });
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const r = await w.request("/orders", { method });
      assert.equal(r.status, 503, method);
      assert.equal(r.headers["retry-after"], "10", method);
    }
    await w.dispose();
    w = null;
  });

  test("every origin answering 503 (maintenance): the origin's own page reaches the client", async () => {
    for (const o of [a, b]) fs.writeFileSync(path.join(o.varDir, "unhealthy"), "");
    try {
      w = await startWorker({ edge: poolsConfig({ dc1: [a], dc2: [b] }), bindings: SECRETS });
      const r = await w.request("/health");
      assert.equal(r.status, 503);
      assert.equal(r.body.toString(), "unhealthy\n", "Symfony's body, not the edge's");
      assert.equal(r.headers["retry-after"], undefined);
      assert.ok(await w.logged((l) => l.includes('"event":"proxy"') && l.includes('"attempts":2') && l.includes('"status":503')), w.log.join("\n"));
    } finally {
      for (const o of [a, b]) fs.rmSync(path.join(o.varDir, "unhealthy"), { force: true });
      await w?.dispose();
      w = null;
    }
  });

  test("a status outside 200-599 is a failure: a GET goes elsewhere, otherwise 502 naming the cause", async () => {
    const weird = await startRawOrigin(() => "HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok");
    try {
      w = await startWorker({ edge: poolsConfig({ dc1: [{ url: weird.url.origin }], dc2: [a] }), bindings: SECRETS });
      const r = await w.request("/orders");
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-origin"], "plan-a");
      await w.dispose();
      w = await startWorker({ edge: poolsConfig({ dc1: [{ url: weird.url.origin }] }), bindings: SECRETS });
      const only = await w.request("/orders");
      assert.equal(only.status, 502);
      assert.ok(await w.logged((l) => l.includes("999") && l.includes("not a final HTTP status")), w.log.join("\n"));
    } finally {
      await w?.dispose();
      w = null;
      await weird.close();
    }
  });

  test("the deadline bounds the total time of a request whose origins hang", async () => {
    // Origins that accept the connection and never answer.
    const hangs = [await startRawOrigin(() => null), await startRawOrigin(() => null), await startRawOrigin(() => null)];
    w = await startWorker({
      edge: poolsConfig({ dc1: hangs.map((h) => ({ url: h.url.origin })) }, { extra: { attempt_timeout_ms: 1000, deadline_ms: 1500, max_attempts: 3 } }),
      bindings: SECRETS,
    });
    try {
      const t = Date.now();
      const r = await w.request("/orders", { timeout: 10_000 });
      const took = Date.now() - t;
      assert.equal(r.status, 503);
      assert.ok(took < 2500, `took ${took} ms with a 1500 ms deadline`);
      assert.ok(took >= 1400, `took ${took} ms: the second attempt was cut to what was left, not skipped`);
    } finally {
      await w.dispose();
      w = null;
      for (const h of hangs) await h.close();
    }
  });

  test("the attempt timeout bounds the wait for the head, not the body: a slow stream arrives whole", async () => {
    // The head at once, then a chunk every 400 ms for 2.4 s: well past attempt_timeout_ms.
    const slow = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`chunk ${n}\n`);
        if (++n === 6) {
          clearInterval(t);
          res.end("end\n");
        }
      }, 400);
    });
    await new Promise((r) => slow.listen(0, "127.0.0.1", r));
    w = await startWorker({
      edge: poolsConfig(
        { dc1: [{ url: `http://127.0.0.1:${slow.address().port}` }] },
        { routes: [{ path_prefix: "/", pools: ["dc1"], cache: { enabled: false } }], extra: { attempt_timeout_ms: 1000, deadline_ms: 1000, origin_auth: false } },
      ),
    });
    try {
      const t = Date.now();
      const r = await w.request("/export", { timeout: 10_000 });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), [0, 1, 2, 3, 4, 5].map((n) => `chunk ${n}\n`).join("") + "end\n", "the whole body");
      assert.ok(Date.now() - t >= 2000, "it streamed past the timeout");
    } finally {
      await w.dispose();
      w = null;
      slow.close();
    }
  });
});

describe("uploads that break off", () => {
  // A client that hangs up mid-upload is its own failure: 400, logged as such, and never
  // counted against the origin (else a few aborted uploads would eject a healthy origin), and
  // the origin sees the upload cut off, never a shortened body that looks complete.
  let origin, w;
  const seen = [];
  before(async () => {
    // Answers once a body is complete (by Content-Length or the last chunk); records the bytes.
    origin = net.createServer((s) => {
      const c = { bytes: "" };
      seen.push(c);
      s.on("data", (d) => {
        c.bytes += d.toString("latin1");
        const h = c.bytes.indexOf("\r\n\r\n");
        if (h < 0) return;
        const cl = /^content-length: *(\d+)/im.exec(c.bytes.slice(0, h));
        const body = c.bytes.slice(h + 4);
        const whole = cl ? body.length >= Number(cl[1]) : body.endsWith("0\r\n\r\n");
        if (whole && !/^x-hang:/im.test(c.bytes.slice(0, h))) s.end("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
      });
      s.on("error", () => {});
    });
    await new Promise((r) => origin.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${origin.address().port}`;
    w = await startWorker({ edge: poolsConfig({ p: [{ url }] }, { extra: { eject_after_failures: 2, attempt_timeout_ms: 1000, deadline_ms: 1500 } }), bindings: SECRETS });
  });
  after(async () => {
    await w?.dispose();
    origin?.close();
  });

  const health = async () => JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer plan-token" } })).body).pools.p.origins[0];

  /** Sends `head`, then each of `parts` `gap_ms` apart (and `end` after them); the answer. */
  const trickle = (head, parts, gap_ms, end = true) =>
    new Promise((resolve) => {
      const s = net.connect(Number(w.url.port), "127.0.0.1");
      let got = "";
      s.on("data", (d) => (got += d));
      s.on("error", () => {});
      s.on("close", () => resolve(got));
      s.write(`POST /orders HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n${head}\r\n\r\n`);
      parts.forEach((p, i) => setTimeout(() => s.write(p), gap_ms * (i + 1)));
      if (end) setTimeout(() => s.end(), gap_ms * (parts.length + 1));
      setTimeout(() => s.destroy(), gap_ms * parts.length + 6000);
    });

  /** Sends `head` and `part` of a body, then stops sending (half-close); the answer, if any. */
  const cut = (head, part) =>
    new Promise((resolve) => {
      const s = net.connect(Number(w.url.port), "127.0.0.1");
      let got = "";
      s.on("data", (d) => (got += d));
      s.on("error", () => {});
      s.on("close", () => resolve(got));
      s.write(`POST /orders HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n${head}\r\n\r\n${part}`);
      setTimeout(() => s.end(), 300);
      setTimeout(() => s.destroy(), 5000);
    });

  test("a client that stops mid-upload gets 400; the origin is not blamed and sees no complete body", async () => {
    const cases = [
      ["chunked", "Transfer-Encoding: chunked", "a\r\n0123456789\r\n"],
      ["streamed, longer than declared", "Content-Length: 2000000", "x".repeat(5000)],
      ["buffered, shorter than declared", "Content-Length: 1000", "x".repeat(10)],
    ];
    for (const [name, head, part] of cases) {
      const got = await cut(head, part);
      assert.match(got, /^HTTP\/1\.1 400 /, `${name}: ${got.slice(0, 200)}`);
    }
    assert.ok(await w.logged((l) => l.includes('"status":400') && l.includes("the client's request body broke off")), w.log.join("\n"));
    assert.ok(await w.logged((l) => l.includes("POST /orders: the request's body could not be read whole")), w.log.join("\n"));
    // The streamed two reached the origin, cut off: no last chunk, fewer bytes than declared.
    assert.equal(seen.length, 2, "the buffered one never left the edge");
    assert.ok(!seen[0].bytes.endsWith("0\r\n\r\n"), `the chunked upload ended cleanly: ${JSON.stringify(seen[0].bytes.slice(-40))}`);
    assert.ok(seen[1].bytes.length < 2_000_000, "the long one arrived short");
    const o = await health();
    assert.deepEqual([o.consecutive_failures, o.ejections], [0, 0], JSON.stringify(o));
    // And whole uploads still go through, either way.
    const body = "y".repeat(3000);
    for (const headers of [{ "content-length": String(body.length) }, { "transfer-encoding": "chunked" }]) {
      const r = await w.request("/orders", { method: "POST", body, headers });
      assert.equal(r.status, 201, JSON.stringify(headers));
    }
  });

  test("a slow upload is not a slow origin; a stalled client is the client's failure", async () => {
    // attempt_timeout_ms is 1 s and deadline_ms 1.5 s; each upload takes about 2.5 s.
    const chunk = "3e8\r\n" + "x".repeat(1000) + "\r\n";
    const cases = [
      ["chunked", "Transfer-Encoding: chunked", [chunk, chunk, chunk, chunk, "0\r\n\r\n"]],
      ["streamed, over 1 MiB", "Content-Length: 2000000", ["x".repeat(1000), "x".repeat(1000), "x".repeat(1000), "x".repeat(2_000_000 - 3000)]],
      ["buffered, read whole first", "Content-Length: 4000", ["x".repeat(1000), "x".repeat(1000), "x".repeat(1000), "x".repeat(1000)]],
    ];
    for (const [name, head, parts] of cases) {
      const got = await trickle(head, parts, 600, false);
      assert.match(got, /^HTTP\/1\.1 201 /, `${name}: ${got.slice(0, 200)}`);
    }
    // A client that sends part of its body and then nothing: 400 once the attempt timeout
    // passes with no progress, not a 504 blamed on the origin.
    const t = Date.now();
    const stalled = await trickle("Transfer-Encoding: chunked", [chunk], 100, false);
    assert.match(stalled, /^HTTP\/1\.1 400 /, stalled.slice(0, 200));
    assert.ok(Date.now() - t < 4000, `answered ${Date.now() - t} ms after it began`);
    // The same for a small body, read whole at the edge before any attempt.
    const small = await trickle("Content-Length: 4000", ["x".repeat(100)], 100, false);
    assert.match(small, /^HTTP\/1\.1 400 /, small.slice(0, 200));
    assert.ok(await w.logged((l) => l.includes("could not be read whole (the client's request body stalled")), w.log.join("\n"));
    let o = await health();
    assert.deepEqual([o.consecutive_failures, o.ejections], [0, 0], JSON.stringify(o));
    // An origin that takes the whole body and never answers: 504 about 1 s after the body was
    // sent, counted against it.
    const hung = await trickle("Content-Length: 2000000\r\nX-Hang: 1", ["x".repeat(2_000_000)], 100, false);
    assert.match(hung, /^HTTP\/1\.1 504 /, hung.slice(0, 200));
    o = await health();
    assert.equal(o.consecutive_failures, 1, JSON.stringify(o));
  });
});

describe("routes and denied paths", () => {
  let a, b, tap, w;
  before(async () => {
    a = await startOrigin({ name: "route-main" });
    b = await startOrigin({ name: "route-admin" });
    tap = await startTap(a.url);
    const edge = poolsConfig(
      { main: [{ url: tap.url.origin }], admin: [b] },
      {
        routes: [
          { path_prefix: "/admin", pools: ["admin"] },
          { host: "*.Shop.Test", path_prefix: "/whoami", pools: ["admin"] },
          { path_prefix: "/private", action: "deny" },
          { path_prefix: "/", pools: ["main"] },
        ],
      },
    );
    w = await startWorker({ edge, bindings: SECRETS });
  });
  after(async () => {
    await w?.dispose();
    await tap?.close();
    await a?.stop();
    await b?.stop();
  });

  const originOf = async (url, init) => {
    const r = await w.mf.dispatchFetch(url, { headers: { "cf-connecting-ip": "192.0.2.1" }, ...init });
    await r.arrayBuffer();
    return [r.status, r.headers.get("x-origin")];
  };

  test("path prefixes match whole segments of the decoded path, as Symfony's router would", async () => {
    assert.deepEqual(await originOf("http://shop.test/%61dmin/x"), [404, "route-admin"], "/%61dmin is /admin");
    assert.deepEqual(await originOf("http://shop.test/admin"), [404, "route-admin"]);
    assert.deepEqual(await originOf("http://shop.test/administrator"), [404, "route-main"], "not a segment of /admin");
  });

  test("host patterns match in any case", async () => {
    assert.deepEqual(await originOf("http://EU.shop.TEST/whoami"), [200, "route-admin"]);
    assert.deepEqual(await originOf("http://shop.test/whoami"), [200, "route-main"], "*.shop.test needs a subdomain");
  });

  test("Symfony's internal paths, dotfiles and deny routes are 404 at the edge, never forwarded", async () => {
    const before = tap.seen.length;
    // Symfony's front controller answers /index.php/X as X: such paths would walk around every
    // path rule (deny routes, internal paths, the jobs' paths), so they are internal too.
    const viaFrontController = ["/index.php/private/x", "/index.php/_profiler/latest", "/INDEX.PHP/_wdt/1", "/index.php", "/index.php/"];
    for (const p of ["/_profiler/abc", "/_wdt/123", "/_fragment?_path=x", "/.env", "/.git/config", "/%5Fprofiler", "/private/x", ...viaFrontController]) {
      const r = await w.request(p, { method: p.startsWith("/index.php/p") ? "POST" : "GET" });
      assert.equal(r.status, 404, p);
      assert.match(r.headers["content-type"], /text\/plain/, p);
    }
    assert.equal(tap.seen.length, before, "no denied request reached the origin");
    assert.equal((await w.request("/.well-known/security.txt")).status, 404);
    assert.equal(tap.seen.length, before + 1, "/.well-known/ is public: the origin answered");
  });

  test("extension methods the runtime accepts (WebDAV) are forwarded like any write", async () => {
    for (const method of ["PROPFIND", "MKCOL", "REPORT"]) {
      const r = await w.request("/whoami", { method });
      assert.equal(r.status, 200, method);
      assert.equal(JSON.parse(r.body).raw_method, method);
    }
  });
});

describe("in-flight accounting", () => {
  let a, b, w;
  before(async () => {
    a = await startOrigin({ name: "lo-a" });
    b = await startOrigin({ name: "lo-b" });
    w = await startWorker({
      edge: poolsConfig({ p: [a, b] }, { steering: { p: { steering: "least_outstanding" } }, extra: { attempt_timeout_ms: 3000, deadline_ms: 3000 } }),
      bindings: SECRETS,
    });
  });
  after(async () => {
    await w?.dispose();
    await a?.stop();
    await b?.stop();
  });

  test("a client that hangs up does not leave its request counted as in flight", async () => {
    const aborted = [];
    for (let i = 0; i < 4; i++) {
      const req = http.request({ host: w.url.hostname, port: w.url.port, path: `/orders?delay_ms=2000&n=${i}`, agent: false });
      req.on("error", () => {});
      req.end();
      aborted.push(req);
    }
    const health = async () => JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer plan-token" } })).body);
    // Wait (up to 3 s on a loaded machine) until all four have reached the worker.
    let during = [];
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      during = (await health()).pools.p.origins.map((o) => o.in_flight);
      if (during.reduce((a, b) => a + b, 0) >= 4) break;
    }
    assert.deepEqual(during, [2, 2], "least outstanding spreads the four");
    for (const r of aborted) r.destroy();
    let after = during;
    for (let i = 0; i < 40 && after.some((n) => n > 0); i++) {
      await sleep(100);
      after = (await health()).pools.p.origins.map((o) => o.in_flight);
    }
    assert.deepEqual(after, [0, 0], "cancelled requests stop counting (drop guard, or their attempt's deadline)");
    // Idle origins tie, and ties are broken at random: 24 requests all landing on one origin
    // by chance has odds of 2^-23 (4 requests failed one run in eight).
    const seen = new Set();
    for (let i = 0; i < 24; i++) seen.add((await w.request("/orders")).headers["x-origin"]);
    assert.deepEqual([...seen].sort(), ["lo-a", "lo-b"], "both origins still take traffic");
  });
});
