// Active health checks end to end: Miniflare drives the worker's cron trigger (scheduled()),
// the worker probes real php -S origins, shares verdicts through KV, and steers by them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let h1, h2, w;

before(async () => {
  h1 = await startOrigin({ name: "probe-1" });
  h2 = await startOrigin({ name: "probe-2" });
  const edge = poolsConfig({ app: [h1, h2] }, { extra: { health_cache_ms: 100 } });
  edge.pools.app.health = { path: "/health", expected_body: "ok", healthy_threshold: 2, unhealthy_threshold: 2, ttl_s: 3, timeout_ms: 2000 };
  w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "t" }, kvNamespaces: ["EDGE_HEALTH"] });
});
after(async () => {
  await w?.dispose();
  await h1?.stop();
  await h2?.stop();
});

const cron = async () => (await w.mf.getWorker()).scheduled({ cron: "* * * * *" });
const origins = async (n = 10) => {
  const seen = {};
  for (let i = 0; i < n; i++) {
    const r = await w.request("/orders");
    assert.equal(r.status, 200);
    seen[r.headers["x-origin"]] = (seen[r.headers["x-origin"]] ?? 0) + 1;
  }
  return seen;
};
const sick = (o, yes) => {
  const f = path.join(o.varDir, "unhealthy");
  if (yes) fs.writeFileSync(f, "");
  else fs.rmSync(f, { force: true });
};
const health = async () => JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer t" } })).body);

test("an origin failing its checks is taken out after the threshold and comes back after recovering", async () => {
  await cron();
  assert.deepEqual(Object.keys(await origins()).sort(), ["probe-1", "probe-2"]);

  sick(h2, true);
  await cron();
  await sleep(150);
  assert.ok((await origins())["probe-2"] > 0, "one failure is below the threshold");
  await cron();
  await sleep(150);
  assert.deepEqual(await origins(), { "probe-1": 10 }, "two failures take it out, though it still answers");

  const report = await health();
  const [, down] = report.pools.app.origins;
  assert.equal(down.available, false);
  assert.equal(down.active.healthy, false);
  assert.match(down.active.reason, /status 503/);
  assert.ok(down.active.since_ms <= report.now && down.active.checked_ms <= report.now);

  sick(h2, false);
  await cron();
  await sleep(150);
  assert.deepEqual(await origins(), { "probe-1": 10 }, "one success is below the threshold");
  await cron();
  await sleep(150);
  assert.ok((await origins())["probe-2"] > 0, "back after two successes");
});

test("a stale verdict expires instead of pinning traffic away forever", async () => {
  sick(h2, true);
  await cron();
  await cron();
  await sleep(150);
  assert.equal((await origins())["probe-2"], undefined);
  await sleep(3200); // ttl_s = 3, and no probe runs meanwhile
  assert.ok((await origins())["probe-2"] > 0, "the stale verdict no longer holds");
  sick(h2, false);
});

test("a killed origin fails its probes too", async () => {
  await h2.kill();
  await cron();
  await cron();
  const report = await health();
  assert.equal(report.pools.app.origins[1].active.healthy, false);
  assert.match(report.pools.app.origins[1].active.reason, /connection failed|no answer/);
  await h2.start();
});
