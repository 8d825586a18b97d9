// Origin pools end to end: the built worker in Miniflare in front of real Symfony origins
// (php -S), which are killed and restarted for real.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, request, startOrigin, startTap, startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `concurrency` loops of GETs for `ms`; returns every response's status and origin. */
async function load(w, path, ms, concurrency = 4) {
  const results = [];
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        try {
          const r = await w.request(path, { timeout: 15_000 });
          results.push({ status: r.status, origin: r.headers["x-origin"], at: Date.now() });
        } catch (e) {
          results.push({ status: 0, error: String(e), at: Date.now() });
        }
      }
    }),
  );
  return results;
}

const tally = (results) => results.reduce((m, r) => ((m[r.origin] = (m[r.origin] ?? 0) + 1), m), {});
const FAST_EJECTION = { eject_after_failures: 1, eject_base_ms: 1500, eject_max_ms: 3000, attempt_timeout_ms: 3000 };

describe("forwarding and origin authentication", () => {
  let o1;
  let tap;
  let w;
  before(async () => {
    o1 = await startOrigin({ name: "fw-1" });
    // The edge talks to o1 through a tap that records exactly what the origin receives.
    tap = await startTap(o1.url);
    w = await startWorker({ edge: poolsConfig({ main: [{ url: tap.url.origin }] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
  });
  after(async () => {
    await w?.dispose();
    await tap?.close();
    await o1?.stop();
  });

  test("Symfony sees https, the public host and the client IP from the edge, not a spoofed X-Forwarded-For", async () => {
    const r = await w.mf.dispatchFetch("https://shop.example.com/whoami?q=1", {
      headers: { "cf-connecting-ip": "203.0.113.9", "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "http", "x-forwarded-host": "evil.test" },
    });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.secure, true);
    assert.equal(seen.scheme, "https");
    assert.equal(seen.host, "shop.example.com");
    assert.equal(seen.port, 443);
    assert.equal(seen.client_ip, "203.0.113.9");
    assert.equal(seen.headers["x-forwarded-for"], "6.6.6.6, 203.0.113.9", "the client's entry stays to the left, untrusted");
    assert.equal(seen.headers["x-forwarded-host"], "shop.example.com");
    assert.equal(seen.signed, true);
    assert.equal(seen.headers["x-edge-auth"], undefined, "/whoami never echoes the signature");
    assert.match(tap.seen.at(-1).headers["x-edge-auth"], /^v2;t=\d+;n=[0-9a-f]{26};sig=[A-Za-z0-9_-]+$/);
  });

  test("an origin refuses requests that did not come through the edge, and every replay of a signature", async () => {
    const direct = await request(o1.url, "/whoami", { headers: { "x-forwarded-proto": "https" } });
    assert.equal(direct.status, 403);
    const forged = await request(o1.url, "/whoami", { headers: { "x-edge-auth": "v2;t=1;n=abcdefgh;sig=AAAA" } });
    assert.equal(forged.status, 403);
    const ok = await w.mf.dispatchFetch("http://shop.test/orders", { headers: { "cf-connecting-ip": "192.0.2.1" } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const sent = tap.seen.at(-1);
    const replay = (path, headers) => request(tap.url, path, { headers: { ...sent.headers, ...headers } });
    assert.equal((await replay("/orders", {})).status, 403, "the same signed request a second time (nonce used)");
    assert.equal((await replay("/whoami", {})).status, 403, "a captured header does not open another path");
    assert.equal((await replay("/orders", { "x-forwarded-for": "6.6.6.6" })).status, 403, "nor another client address");
    assert.equal((await replay("/orders", { "x-forwarded-proto": "http" })).status, 403, "nor another scheme");
  });

  test("a client cannot smuggle its own auth header through the edge", async () => {
    const r = await w.mf.dispatchFetch("http://shop.test/whoami", { headers: { "cf-connecting-ip": "192.0.2.1", "x-edge-auth": "v2;t=1;n=mineminemine;sig=mine" } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.match(tap.seen.at(-1).headers["x-edge-auth"], /^v2;t=\d+;n=[0-9a-f]{26};/);
  });

  test("the origin verifies the raw method: a POST with X-HTTP-Method-Override is not refused", async () => {
    const r = await w.request("/whoami", { method: "POST", body: "x=1", headers: { "content-type": "application/x-www-form-urlencoded", "x-http-method-override": "PUT" } });
    assert.equal(r.status, 200, r.body.toString());
    const seen = JSON.parse(r.body);
    assert.equal(seen.raw_method, "POST");
    assert.equal(seen.method, "PUT", "Symfony applies the override after the edge check");
  });

  test("without the EDGE_ORIGIN_KEY secret the worker refuses to route, and logs why", async () => {
    const bad = await startWorker({ edge: poolsConfig({ main: [o1] }) });
    try {
      const r = await bad.request("/whoami");
      assert.equal(r.status, 500);
      assert.ok(await bad.logged((l) => l.includes("EDGE_ORIGIN_KEY") && l.includes("EDGE.origin_auth")), bad.log.join("\n"));
    } finally {
      await bad.dispose();
    }
  });
});

describe("steering and failover", () => {
  const origins = {};
  let w;
  before(async () => {
    for (const name of ["a1", "a2", "b1"]) origins[name] = await startOrigin({ name });
  });
  after(async () => {
    await w?.dispose();
    for (const o of Object.values(origins)) await o.stop();
  });

  test("weights show in the distribution", async () => {
    const ww = await startWorker({
      edge: poolsConfig({ dc1: [{ url: origins.a1.url, weight: 3 }, { url: origins.a2.url, weight: 1 }] }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    try {
      const seen = {};
      for (let i = 0; i < 40; i++) {
        const r = await ww.request("/orders");
        assert.equal(r.status, 200);
        seen[r.headers["x-origin"]] = (seen[r.headers["x-origin"]] ?? 0) + 1;
      }
      assert.deepEqual(seen, { a1: 30, a2: 10 });
    } finally {
      await ww.dispose();
    }
  });

  test("with one of three origins killed under continuous load, no GET fails", async () => {
    w = await startWorker({
      edge: poolsConfig({ all: [origins.a1, origins.a2, origins.b1] }, { extra: FAST_EJECTION }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    const running = load(w, "/orders", 4000);
    await sleep(1000);
    await origins.a2.kill();
    const results = await running;
    const failed = results.filter((r) => r.status !== 200);
    assert.deepEqual(failed, [], `failed GETs: ${JSON.stringify(failed.slice(0, 5))}`);
    const late = tally(results.filter((r) => r.at > Date.now() - 1500));
    assert.equal(late.a2, undefined, `traffic still reaches the killed origin: ${JSON.stringify(late)}`);
    assert.ok(late.a1 > 0 && late.b1 > 0);
    await origins.a2.start();
    await w.dispose();
    w = null;
  });

  test("with all of dc1 killed, traffic fails over to dc2 with no failed GET, and comes back", async () => {
    w = await startWorker({
      edge: poolsConfig({ dc1: [origins.a1, origins.a2], dc2: [origins.b1] }, { extra: FAST_EJECTION }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    const before = tally(await load(w, "/orders", 800));
    assert.ok(before.a1 > 0 && before.a2 > 0 && before.b1 === undefined, `primary first: ${JSON.stringify(before)}`);
    const running = load(w, "/orders", 3000);
    await sleep(800);
    await Promise.all([origins.a1.kill(), origins.a2.kill()]);
    const during = await running;
    assert.deepEqual(during.filter((r) => r.status !== 200), [], "no failed GET");
    const afterKill = tally(during.filter((r) => r.at > Date.now() - 1000));
    assert.deepEqual(Object.keys(afterKill), ["b1"], `all traffic on dc2: ${JSON.stringify(afterKill)}`);

    await Promise.all([origins.a1.start(), origins.a2.start()]);
    await sleep(3500); // longer than the longest ejection
    const back = tally(await load(w, "/orders", 1000));
    assert.ok(back.a1 > 0 && back.a2 > 0 && back.b1 === undefined, `back on dc1: ${JSON.stringify(back)}`);
  });

  test("a POST whose origin dies is not replayed", async () => {
    await w?.dispose();
    const solo = await startOrigin({ name: "post-1" });
    const other = await startOrigin({ name: "post-2" });
    w = await startWorker({
      edge: poolsConfig({ dc1: [solo], dc2: [other] }, { extra: { attempt_timeout_ms: 8000 } }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    try {
      const post = w.request("/order?delay_ms=3000", { method: "POST", body: "item=mug", headers: { "content-type": "application/x-www-form-urlencoded" } });
      await sleep(1000);
      await solo.kill();
      const r = await post;
      assert.equal(r.status, 502, "the connection was lost after the POST was sent: it may have been applied");
      const viaEdge = await w.request("/orders");
      assert.equal(viaEdge.headers["x-origin"], "post-2", "the dead origin's pool failed over for GETs");
      assert.equal(JSON.parse(viaEdge.body).orders, 0, "the POST was never sent to another origin");
    } finally {
      await solo.stop();
      await other.stop();
    }
  });

  test("an origin is never held out by ejection alone when there is nowhere else to go", async () => {
    await w?.dispose();
    const only = await startOrigin({ name: "only-1" });
    w = await startWorker({
      edge: poolsConfig({ solo: [only] }, { extra: { eject_after_failures: 1, eject_base_ms: 60_000, eject_max_ms: 60_000 } }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    try {
      await only.kill();
      assert.equal((await w.request("/orders")).status, 503, "down, and now ejected for a minute");
      await only.start();
      const r = await w.request("/orders");
      assert.equal(r.status, 200, "panic mode tries the ejected origin rather than answering 503");
      assert.equal(r.headers["x-origin"], "only-1");
    } finally {
      await only.stop();
    }
  });

  test("when every pool is down: 503 with Retry-After", async () => {
    await w?.dispose();
    w = await startWorker({
      edge: poolsConfig({ dc1: [{ url: "http://127.0.0.1:9" }], dc2: [{ url: "http://127.0.0.1:11" }] }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    const r = await w.request("/");
    assert.equal(r.status, 503);
    assert.equal(r.headers["retry-after"], "10");
  });
});

describe("operations", () => {
  let o1;
  let w;
  before(async () => {
    o1 = await startOrigin({ name: "ops-1" });
    w = await startWorker({
      edge: poolsConfig({ main: [o1, { url: "http://127.0.0.1:9" }] }, { extra: { eject_after_failures: 1 } }),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "ops-token" },
    });
  });
  after(async () => {
    await w?.dispose();
    await o1?.stop();
  });

  test("/__edge/health is token-protected JSON of pools, origins and ejections", async () => {
    for (let i = 0; i < 4; i++) assert.equal((await w.request("/orders")).status, 200);
    assert.equal((await w.request("/__edge/health")).status, 401);
    assert.equal((await w.request("/__edge/health", { headers: { authorization: "Bearer wrong" } })).status, 401);
    const r = await w.request("/__edge/health", { headers: { authorization: "Bearer ops-token" } });
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body);
    const [live, dead] = h.pools.main.origins;
    assert.equal(live.available, true);
    assert.equal(dead.available, false);
    assert.ok(dead.ejected_until > h.now && dead.ejections >= 1);
  });

  test("every proxied request logs one JSON line", async () => {
    await w.request("/orders?log=1");
    assert.ok(
      await w.logged((l) => {
        try {
          const j = JSON.parse(l.slice(l.indexOf("{")));
          const recent = typeof j.ts === "number" && Math.abs(Date.now() - j.ts) < 60_000;
          return j.event === "proxy" && recent && j.path === "/orders" && j.pool === "main" && j.status === 200 && j.attempts >= 1 && typeof j.latency_ms === "number";
        } catch {
          return false;
        }
      }),
      w.log.slice(-5).join("\n"),
    );
  });

  test("request log lines are batched: a full batch and a failure go at once, the rest within log_flush_ms", async () => {
    const FLUSH = 4000;
    const b = await startWorker({
      edge: poolsConfig(
        { main: [o1], dead: [{ url: "http://127.0.0.1:9" }] },
        {
          routes: [
            { path_prefix: "/down", pools: ["dead"], cache: { enabled: false } },
            { path_prefix: "/", pools: ["main"], cache: { enabled: false } },
          ],
          extra: { log_batch: 3, log_flush_ms: FLUSH },
        },
      ),
      bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
    });
    const lines = (p) => b.log.filter((l) => l.includes('"event":"proxy"') && l.includes(`"path":"${p}"`));
    const until = async (pred, ms) => {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        if (pred()) return true;
        await sleep(25);
      }
      return pred();
    };
    try {
      // Three lines fill the batch: written together, long before the flush timer.
      const t0 = Date.now();
      for (const p of ["/batch-1", "/batch-2", "/batch-3"]) assert.equal((await b.request(p)).status, 404);
      assert.ok(await until(() => ["/batch-1", "/batch-2", "/batch-3"].every((p) => lines(p).length === 1), 1500), b.log.join("\n"));
      assert.ok(Date.now() - t0 < FLUSH - 500, "written because the batch was full, not by the timer");
      // One line is held ...
      assert.equal((await b.request("/held")).status, 404);
      await sleep(800);
      assert.equal(lines("/held").length, 0, "held in the batch");
      // ... until a failure, which is written at once with it.
      const down = await b.request("/down");
      assert.equal(down.status, 503);
      assert.ok(await until(() => lines("/down").length === 1 && lines("/held").length === 1, 1500), b.log.join("\n"));
      const down_line = JSON.parse(lines("/down")[0].slice(lines("/down")[0].indexOf("{")));
      assert.equal(down_line.status, 503);
      // A line nothing else pushes out goes when the timer fires, at most log_flush_ms later.
      const t1 = Date.now();
      assert.equal((await b.request("/late")).status, 404);
      await sleep(300);
      assert.equal(lines("/late").length, 0, "held");
      assert.ok(await until(() => lines("/late").length === 1, FLUSH + 2000), b.log.join("\n"));
      assert.ok(Date.now() - t1 <= FLUSH + 2000);
    } finally {
      await b.dispose();
    }
  });
});
