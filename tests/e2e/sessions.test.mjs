// Sessions and consistency end to end: sticky sessions (signed affinity cookie), consistent
// hashing on the Symfony session cookie, and read-your-writes, against real php -S origins.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker } from "./helpers.mjs";

const SECRETS = { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_COOKIE_KEY: "cookie-key-for-tests" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cookieFrom = (r, name) => {
  const set = [r.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith(`${name}=`));
  return set?.split(";")[0];
};

describe("sticky sessions", () => {
  let s1, s2, w;
  before(async () => {
    s1 = await startOrigin({ name: "sticky-1" });
    s2 = await startOrigin({ name: "sticky-2" });
    const edge = poolsConfig({ app: [s1, s2] }, { extra: { eject_after_failures: 1 } });
    edge.pools.app.sticky = true;
    w = await startWorker({ edge, bindings: SECRETS });
  });
  after(async () => {
    await w?.dispose();
    await s1?.stop();
    await s2?.stop();
  });

  test("a signed affinity cookie keeps the client on its origin", async () => {
    const first = await w.request("/orders");
    const pin = cookieFrom(first, "__edge_affinity");
    assert.ok(pin, "the first response pins");
    const setCookie = [first.headers["set-cookie"]].flat().join();
    for (const attr of ["Secure", "HttpOnly", "SameSite=Lax", "Max-Age=3600", "Path=/"]) assert.match(setCookie, new RegExp(attr));
    const home = first.headers["x-origin"];
    for (let i = 0; i < 10; i++) {
      const r = await w.request("/orders", { headers: { cookie: pin } });
      assert.equal(r.headers["x-origin"], home);
      assert.equal(cookieFrom(r, "__edge_affinity"), undefined, "no new pin while the pin holds");
    }
    // Without the cookie the pool round-robins.
    const seen = new Set();
    for (let i = 0; i < 4; i++) seen.add((await w.request("/orders")).headers["x-origin"]);
    assert.equal(seen.size, 2);
  });

  test("a tampered cookie is ignored", async () => {
    const first = await w.request("/orders");
    const pin = cookieFrom(first, "__edge_affinity");
    const home = first.headers["x-origin"];
    const tampered = pin.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    const seen = new Set();
    for (let i = 0; i < 4; i++) {
      const r = await w.request("/orders", { headers: { cookie: tampered } });
      assert.ok(cookieFrom(r, "__edge_affinity"), "placed afresh and re-pinned");
      seen.add(r.headers["x-origin"]);
    }
    assert.equal(seen.size, 2, `a tampered pin does not hold (home was ${home})`);
  });

  test("when the pinned origin is down the client is moved and re-pinned", async () => {
    const first = await w.request("/orders");
    const pin = cookieFrom(first, "__edge_affinity");
    const home = first.headers["x-origin"];
    const [dead, alive] = home === "sticky-1" ? [s1, "sticky-2"] : [s2, "sticky-1"];
    await dead.kill();
    const moved = await w.request("/orders", { headers: { cookie: pin } });
    assert.equal(moved.status, 200);
    assert.equal(moved.headers["x-origin"], alive);
    const repin = cookieFrom(moved, "__edge_affinity");
    assert.ok(repin && repin !== pin);
    const again = await w.request("/orders", { headers: { cookie: repin } });
    assert.equal(again.headers["x-origin"], alive);
    await dead.start();
  });
});

describe("consistent hashing on the Symfony session cookie", () => {
  const origins = [];
  let w;
  before(async () => {
    for (const name of ["hash-1", "hash-2", "hash-3"]) origins.push(await startOrigin({ name }));
    w = await startWorker({
      edge: poolsConfig({ app: origins }, { steering: { app: { steering: "hash", hash_on: "cookie:PHPSESSID" } }, extra: { eject_after_failures: 1 } }),
      bindings: SECRETS,
    });
  });
  after(async () => {
    await w?.dispose();
    for (const o of origins) await o.stop();
  });

  test("each session stays on one origin; removing one of three moves only its sessions", async () => {
    const where = async (id) => (await w.request("/orders", { headers: { cookie: `PHPSESSID=${id}` } })).headers["x-origin"];
    const before = {};
    for (let i = 0; i < 30; i++) {
      before[i] = await where(`sess${i}`);
      assert.equal(await where(`sess${i}`), before[i], "stable");
    }
    const counts = Object.values(before).reduce((m, o) => ((m[o] = (m[o] ?? 0) + 1), m), {});
    assert.equal(Object.keys(counts).length, 3, JSON.stringify(counts));
    await origins[1].kill();
    let moved = 0;
    for (let i = 0; i < 30; i++) {
      const now = await where(`sess${i}`);
      if (before[i] === "hash-2") {
        assert.notEqual(now, "hash-2");
        moved++;
      } else {
        assert.equal(now, before[i], "sessions of the other origins stay put");
      }
    }
    assert.equal(moved, counts["hash-2"]);
    await origins[1].start();
  });
});

describe("read-your-writes", () => {
  let reads, writes, w;
  before(async () => {
    reads = await startOrigin({ name: "replica" });
    writes = await startOrigin({ name: "primary" });
    w = await startWorker({
      edge: poolsConfig({ reads: [reads], writes: [writes] }, { routes: [{ path_prefix: "/", pools: ["reads"], write_pool: "writes", read_your_writes_s: 2 }] }),
      bindings: SECRETS,
    });
  });
  after(async () => {
    await w?.dispose();
    await reads?.stop();
    await writes?.stop();
  });

  test("after a POST the client reads from the write pool for the window, then from the replicas", async () => {
    assert.equal((await w.request("/orders")).headers["x-origin"], "replica");
    const post = await w.request("/order", { method: "POST", body: "x=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(post.status, 201);
    assert.equal(post.headers["x-origin"], "primary", "writes go to the write pool");
    const ryw = cookieFrom(post, "__edge_ryw");
    assert.ok(ryw);
    const read = await w.request("/orders", { headers: { cookie: ryw } });
    assert.equal(read.headers["x-origin"], "primary");
    assert.equal(JSON.parse(read.body).orders, 1, "the writer sees its write");
    assert.equal((await w.request("/orders")).headers["x-origin"], "replica", "other clients read replicas");
    await sleep(2500);
    assert.equal((await w.request("/orders", { headers: { cookie: ryw } })).headers["x-origin"], "replica", "released after the window");
  });
});
