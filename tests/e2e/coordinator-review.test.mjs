// What an adversarial review of the coordinator found (each test failed before its fix): the
// purge log bounded, probe rounds that never hold up jobs or other pools, a run that expires
// still logged, and a deploy that brings the alarm forward.
import assert from "node:assert/strict";
import { test } from "node:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { COMPATIBILITY_DATE, ORIGIN_KEY, ROOT, WWW_BUILD, request, startRawOrigin, startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TOKEN = "coordinator-review";
const bearer = { authorization: `Bearer ${TOKEN}` };
const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
const health = async (w) => JSON.parse((await w.request("/__edge/health", { headers: bearer })).body);

/** Pools `a1` and `a2`, each with one origin that never answers its probe (`check`): a slow round. */
async function hangingPools(check) {
  const hang = [await startRawOrigin(() => null), await startRawOrigin(() => null)];
  const [a1, a2] = hang.map((o) => ({ origins: [{ url: o.url.origin }], health: check }));
  return { hang, pools: { a1, a2 } };
}

// README, "Invalidation": purges are recorded in the coordinator's purge log, kept for 366 days
// (PURGE_HORIZON_MS). Before its bound, the log (one stored value) grew without limit; past about
// 2 MB (some 40,000 distinct tags: product tags, and the `url:…` tag every successful public
// POST to a new URL adds) the store failed with SQLITE_TOOBIG and from then on every purge — an
// operator's, an origin's purge header, an unsafe request's invalidation — was refused (502) or
// silently lost, for up to a year.
test("purges are still recorded after many distinct tags have been purged", async () => {
  const o = await startRawOrigin(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncache-control: max-age=60\r\n\r\nok");
  const edge = {
    public_path: "/assets/",
    pools: { app: { origins: [{ url: o.url.origin }] } },
    routes: [{ path_prefix: "/", pools: ["app"] }],
  };
  const w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN } });
  try {
    const headers = { ...bearer, "content-type": "application/json" };
    const statuses = [];
    for (let batch = 0; batch < 10; batch++) {
      const tags = Array.from({ length: 5000 }, (_, i) => `product-${batch}-${i}-variant-colour`);
      const r = await w.request("/__edge/purge", { method: "POST", headers, body: JSON.stringify({ tags }) });
      statuses.push(r.status);
    }
    const last = await w.request("/__edge/purge", { method: "POST", headers, body: JSON.stringify({ tags: ["product-7"] }) });
    assert.deepEqual(statuses, Array(10).fill(200), "every batch of purges recorded");
    assert.equal(last.status, 200, `a purge after 50,000 others: ${last.body}`);
  } finally {
    await w.dispose();
    await o.close();
  }
});

// README, "The coordinator" / "Scheduled jobs": the coordinator runs the jobs on its alarm; a
// due instant is recorded as missed only when "the coordinator did not run". The alarm handler
// used to await a whole probe round before re-arming, so an origin of any health-checked pool
// that did not answer its probe (timeout_ms up to 60 s) held every job back for the round: a job
// due meanwhile started seconds late and the instants in between were recorded as missed.
test("a slow probe round neither delays nor drops scheduled runs", async () => {
  const { hang, pools } = await hangingPools({ path: "/health", timeout_ms: 3000, healthy_threshold: 1, unhealthy_threshold: 2 });
  const app = await startRawOrigin(() => OK);
  const edge = {
    public_path: "/assets/",
    health_interval_s: 1,
    coordinator_poll_ms: 100,
    pools: { ...pools, app: { origins: [{ url: app.url.origin }] } },
    routes: [{ path_prefix: "/", pools: ["app"], cache: { enabled: false } }],
    jobs: [{ name: "tick", every_s: 1, pool: "app", path: "/_jobs/tick", timeout_ms: 1000, max_run_s: 2 }],
  };
  const w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN } });
  try {
    assert.equal((await w.request("/x")).status, 200); // arms the alarm
    await sleep(8000);
    const [job] = (await health(w)).jobs;
    assert.equal(job.counts.missed, 0, `instants recorded as missed while the coordinator was busy probing: ${JSON.stringify(job)}`);
    assert.ok(job.counts.started >= 5, `a job every second ran ${job.counts.started} times in 8 s`);
  } finally {
    await w.dispose();
    for (const o of [...hang, app]) await o.close();
  }
});

// README, "Active health": "an idle origin that dies is out within `unhealthy_threshold`
// intervals plus the probe timeout". The pools used to be probed one after another, each round
// waiting for every earlier pool's slowest probe, so a pool's verdict came as late as the sum of
// the other pools' probe timeouts allowed: here 2 × 1 s + 0.5 s promised, about 10 s observed.
test("an origin that dies is out within unhealthy_threshold intervals plus its probe timeout, whatever other pools' probes take", async () => {
  const slow = { path: "/health", timeout_ms: 3000, healthy_threshold: 1, unhealthy_threshold: 2 };
  const { hang, pools } = await hangingPools(slow);
  let down = false;
  const c = await startRawOrigin(() => (down ? "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n" : OK));
  const edge = {
    public_path: "/assets/",
    health_interval_s: 1,
    coordinator_poll_ms: 100,
    pools: { ...pools, c: { origins: [{ url: c.url.origin }], health: { ...slow, timeout_ms: 500 } } },
    routes: [{ path_prefix: "/", pools: ["c"], cache: { enabled: false } }],
  };
  const w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN } });
  try {
    assert.equal((await w.request("/x")).status, 200); // arms the alarm
    const verdict = async () => (await health(w)).pools.c.origins[0].active;
    for (let i = 0; i < 150 && (await verdict())?.reason !== "ok"; i++) await sleep(100);
    assert.equal((await verdict())?.reason, "ok", "c probed up first");
    down = true;
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && (await verdict())?.healthy !== false) await sleep(100);
    const took = Date.now() - t0;
    // Promised: 2 intervals (2 s) + the probe timeout (0.5 s); 5 s leaves room for a slow machine.
    assert.ok(took <= 5000, `c marked down after ${took} ms`);
  } finally {
    await w.dispose();
    for (const o of [...hang, c]) await o.close();
  }
});

// README, "Scheduled jobs": "Each run logs one JSON line (`event: job`, key, origin, attempts,
// status or error, lateness, duration)". A run that reached its `max_run_s` while the glue was
// still trying origins was expired by the book (in `due` or `attempt`) and the glue returned (or
// its outcome was ignored) without a line: the failed run left no trace in the log.
test("a run that fails by reaching max_run_s still logs its line", async () => {
  const hang1 = await startRawOrigin(() => null);
  const hang2 = await startRawOrigin(() => null);
  const app = await startRawOrigin(() => OK);
  const edge = {
    public_path: "/assets/",
    coordinator_poll_ms: 100,
    pools: { hang: { origins: [{ url: hang1.url.origin }, { url: hang2.url.origin }] }, app: { origins: [{ url: app.url.origin }] } },
    routes: [{ path_prefix: "/", pools: ["app"], cache: { enabled: false } }],
    // Allowed: max_run_s is at least the timeout.
    jobs: [{ name: "stuck", every_s: 5, pool: "hang", path: "/_jobs/stuck", timeout_ms: 1000, max_run_s: 1 }],
  };
  const w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN } });
  try {
    assert.equal((await w.request("/x")).status, 200); // arms the alarm
    let job;
    for (let i = 0; i < 150; i++) {
      [job] = (await health(w)).jobs;
      if (job.counts.failed >= 1) break;
      await sleep(100);
    }
    assert.ok(job.counts.failed >= 1, `a run failed: ${JSON.stringify(job)}`);
    await sleep(500);
    const lines = w.log.filter((l) => l.includes('"event":"job"'));
    assert.ok(lines.length >= job.counts.failed, `${job.counts.failed} failed run(s), ${lines.length} job log line(s); last run ${JSON.stringify(job.last_run)}`);
  } finally {
    await w.dispose();
    for (const o of [hang1, hang2, app]) await o.close();
  }
});

// README, "The coordinator": "The first request (or the cron trigger, whose only job is this)
// arms the alarm", and pools with `health` are "probed by the coordinator every
// `health_interval_s`". After a deploy the coordinator reloads its configuration, but `arm`
// used to keep any alarm already set: the previous deployment's alarm (here the next @yearly
// run, months away) stood, so health checks added by the new deployment (or a job due sooner, or
// a shorter interval) did not start until that old alarm fired.
test("health checks added by a new deployment start without waiting for the old deployment's alarm", async () => {
  const start = async (edge, persist) => {
    const mf = new Miniflare({
      modules: true,
      scriptPath: path.join(ROOT, "edge-worker/build/worker/entry.mjs"),
      modulesRules: [
        { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
        { type: "CompiledWasm", include: ["**/*.wasm"] },
      ],
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { EDGE: edge, EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN },
      durableObjects: { EDGE_COORDINATOR: { className: "EdgeCoordinator", useSQLite: true } },
      durableObjectsPersist: persist, // the same coordinator storage across both deployments
      assets: { directory: WWW_BUILD, binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
      cf: false,
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.WARN),
      handleRuntimeStdio(stdout, stderr) {
        stdout.resume();
        stderr.resume();
      },
    });
    return { mf, url: await mf.ready };
  };
  let probes = 0;
  const app = await startRawOrigin((line) => {
    if (line.includes("/health")) probes++;
    return OK;
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coordinator-review-"));
  const v1 = {
    public_path: "/assets/",
    pools: { app: { origins: [{ url: app.url.origin }] } },
    routes: [{ path_prefix: "/", pools: ["app"], cache: { enabled: false } }],
    jobs: [{ name: "yearly", schedule: "@yearly", pool: "app", path: "/_jobs/yearly" }],
  };
  let w;
  try {
    w = await start(v1, dir);
    assert.equal((await request(w.url, "/x")).status, 200); // arms the alarm: the next @yearly run
    await sleep(300);
    await w.mf.dispose();
    w = null;
    const v2 = structuredClone(v1);
    v2.health_interval_s = 1;
    v2.pools.app.health = { path: "/health" };
    w = await start(v2, dir);
    assert.equal((await request(w.url, "/x")).status, 200);
    await sleep(4000);
    const h = JSON.parse((await request(w.url, "/__edge/health", { headers: bearer })).body);
    assert.ok(probes > 0, `no probe in 4 s with health_interval_s = 1; verdict ${JSON.stringify(h.pools.app.origins[0].active)}`);
  } finally {
    await w?.mf.dispose();
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
