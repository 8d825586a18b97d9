// Active health checks end to end: the coordinator Durable Object probes real php -S origins on
// its own alarm (every `health_interval_s`), keeps the verdicts, and every isolate steers by its
// copy of them. No cron call is needed: the first request arms the alarm.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const INTERVAL_S = 1;
const TIMEOUT_MS = 500;
let h1, h2, w;

before(async () => {
  h1 = await startOrigin({ name: "probe-1" });
  h2 = await startOrigin({ name: "probe-2" });
  const edge = poolsConfig({ app: [h1, h2] }, { extra: { health_interval_s: INTERVAL_S, coordinator_poll_ms: 100 } });
  edge.pools.app.health = { path: "/health", expected_body: "ok", healthy_threshold: 2, unhealthy_threshold: 2, ttl_s: 30, timeout_ms: TIMEOUT_MS };
  w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "t" } });
});
after(async () => {
  await w?.dispose();
  await h1?.stop();
  await h2?.stop();
});

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
/** Polls `pred` every 50 ms for up to `ms`; the time it took, or null. */
const until = async (pred, ms) => {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await pred()) return Date.now() - t0;
    await sleep(50);
  }
  return null;
};
const verdict = async (i) => (await health()).pools.app.origins[i].active;

test("the first request arms the coordinator's alarm; both origins are probed healthy", async () => {
  assert.deepEqual(Object.keys(await origins()).sort(), ["probe-1", "probe-2"]);
  const took = await until(async () => (await verdict(0))?.healthy === true && (await verdict(1))?.healthy === true, 8000);
  assert.ok(took !== null, `no verdicts after 8 s: ${JSON.stringify(await health())}`);
});

test("an origin failing its checks leaves after the threshold, while it still answers, and comes back", async () => {
  sick(h2, true);
  const out = await until(async () => (await origins(6))["probe-2"] === undefined, 10_000);
  assert.ok(out !== null, "the sick origin still gets traffic after 10 s");
  // unhealthy_threshold = 2 rounds, one interval apart, plus the isolates' poll.
  assert.ok(out <= 2 * INTERVAL_S * 1000 + 2500, `taken out after ${out} ms`);
  const down = await verdict(1);
  assert.equal(down.healthy, false);
  assert.match(down.reason, /status 503/);
  const report = await health();
  assert.ok(down.since_ms <= report.now && down.checked_ms <= report.now);
  assert.equal(report.pools.app.origins[1].available, false);

  sick(h2, false);
  const back = await until(async () => (await origins(6))["probe-2"] > 0, 10_000);
  assert.ok(back !== null, "the recovered origin gets no traffic after 10 s");
  assert.equal((await verdict(1)).healthy, true);
});

test("an idle origin that dies is found by the probes alone, within two intervals and a timeout", async () => {
  await until(async () => (await verdict(1))?.healthy === true, 5000);
  const killedAt = Date.now();
  await h2.kill();
  // No proxied traffic meanwhile: only the coordinator's probes can notice.
  const took = await until(async () => (await verdict(1))?.healthy === false, 10_000);
  assert.ok(took !== null, "a dead origin still healthy after 10 s");
  const bound = 2 * INTERVAL_S * 1000 + TIMEOUT_MS + 1500;
  assert.ok(Date.now() - killedAt <= bound, `found after ${Date.now() - killedAt} ms (bound ${bound})`);
  assert.match((await verdict(1)).reason, /connection failed|no answer/);
  assert.deepEqual(await origins(4), { "probe-1": 4 }, "traffic avoids it from the first request");
  await h2.start();
  assert.ok((await until(async () => (await verdict(1))?.healthy === true, 8000)) !== null);
});

test("the cron trigger only (re)arms the alarm: calling it changes no verdict", async () => {
  const before = await health();
  await (await w.mf.getWorker()).scheduled({ cron: "* * * * *" });
  const after = await health();
  assert.deepEqual(
    after.pools.app.origins.map((o) => o.active?.healthy),
    before.pools.app.origins.map((o) => o.active?.healthy),
  );
});
