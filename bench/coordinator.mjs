#!/usr/bin/env node
// Benchmark: the coordinator (issue 11), in one run.
//   1. Detection: an idle origin is killed (no client traffic); the time until the coordinator's
//      verdict says down, and until the first client request avoids it (health_interval_s = 2,
//      probe timeout 1 s, unhealthy_threshold 2; goal ≤ 2 × interval + timeout = 5 s).
//   2. Cost: a dynamic page (edge cache off) through the worker with the coordinator probing and
//      isolates polling it, against the same worker with no health checks (no coordinator
//      traffic), rounds alternating; medians and the paired ratio (goal ≥ 0.98×).
// Job figures (duplicates, missed, lateness over 200+ runs with random kills) come from
// tests/e2e/jobs.test.mjs, which prints them.
//
// usage: node bench/coordinator.mjs [--rounds 5] [--duration 5] [--trials 3]
// needs: make worker assets, wrk, php
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker } from "../tests/e2e/helpers.mjs";
import { cli } from "./cli.mjs";

const args = cli(import.meta.url, { rounds: { type: "string", default: "5" }, duration: { type: "string", default: "5" }, trials: { type: "string", default: "3" } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const INTERVAL_S = 2;
const TIMEOUT_MS = 1000;
const health = { path: "/health", expected_body: "ok", timeout_ms: TIMEOUT_MS, healthy_threshold: 2, unhealthy_threshold: 2 };
const uncached = (pools) => [{ path_prefix: "/", pools, cache: { enabled: false } }];

// --- 1. detection ------------------------------------------------------------------------------
console.log(`detection of an idle origin killed (health_interval_s ${INTERVAL_S}, timeout ${TIMEOUT_MS} ms, unhealthy_threshold 2; goal ≤ ${2 * INTERVAL_S + TIMEOUT_MS / 1000} s):`);
const toDown = [];
const toAvoid = [];
for (let trial = 0; trial < Number(args.trials); trial++) {
  const a = await startOrigin({ name: "det-a" });
  const b = await startOrigin({ name: "det-b" });
  // Passive ejection off (a huge threshold): only the coordinator's verdict may take b out.
  const edge = poolsConfig({ app: [a, b] }, { routes: uncached(["app"]), extra: { health_interval_s: INTERVAL_S, coordinator_poll_ms: 200, eject_after_failures: 1000 } });
  edge.pools.app.health = health;
  const w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "b" } });
  try {
    await w.request("/orders"); // arms the alarm
    const verdict = async () => JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer b" } })).body).pools.app.origins[1].active;
    while (!(await verdict())?.healthy) await sleep(100);
    await sleep(Math.random() * INTERVAL_S * 1000); // a random phase against the probe rounds
    const killed = Date.now();
    await b.kill();
    let down = null;
    while (Date.now() - killed < 30_000) {
      if ((await verdict())?.healthy === false) {
        down = Date.now() - killed;
        break;
      }
      await sleep(20);
    }
    // Client requests from then on: avoided when four in a row go straight to a (one attempt
    // each, per the worker's request log; a retry after trying b would hide behind a 200).
    let avoid = null;
    while (Date.now() - killed < 30_000) {
      for (let i = 0; i < 4; i++) await w.request("/orders");
      await sleep(30); // the log lines arrive through workerd's stdout
      const last = w.log.filter((l) => l.includes('"event":"proxy"')).slice(-4).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
      if (last.length === 4 && last.every((l) => l.attempts === 1 && l.origin === a.url.origin)) {
        avoid = Date.now() - killed;
        break;
      }
      await sleep(20);
    }
    toDown.push(down);
    toAvoid.push(avoid);
    console.log(`  trial ${trial + 1}: verdict down after ${down} ms, client requests avoid it after ${avoid} ms`);
  } finally {
    await w.dispose();
    await a.stop();
    await b.stop();
  }
}
console.log(`  median: down ${median(toDown)} ms, avoided ${median(toAvoid)} ms`);

// --- 2. cost -------------------------------------------------------------------------------------
async function wrk(url) {
  const { stdout: out } = await promisify(execFile)("wrk", ["-t2", "-c8", `-d${args.duration}s`, "--latency", url]);
  const num = (re) => {
    const m = out.match(re);
    const v = parseFloat(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  return { rps: num(/Requests\/sec:\s+([\d.]+)()/), p50: num(/50%\s+([\d.]+)(us|ms|s)/) };
}
const o = await startOrigin({ name: "cost", key: null });
const plain = poolsConfig({ app: [o] }, { routes: uncached(["app"]), extra: { origin_auth: false, log_requests: false } });
const probed = poolsConfig({ app: [o] }, { routes: uncached(["app"]), extra: { origin_auth: false, log_requests: false, health_interval_s: INTERVAL_S } });
probed.pools.app.health = health;
const targets = {
  without: { label: "without the coordinator", w: await startWorker({ edge: plain, keepLog: false }), runs: [] },
  with: { label: "with it (probes every 2 s)", w: await startWorker({ edge: probed, keepLog: false }), runs: [] },
};
try {
  for (const t of Object.values(targets)) await wrk(new URL("/", t.w.url).href); // warm-up
  for (let i = 0; i < Number(args.rounds); i++) {
    for (const t of Object.values(targets)) t.runs.push(await wrk(new URL("/", t.w.url).href));
  }
} finally {
  for (const t of Object.values(targets)) await t.w.dispose();
  await o.stop();
}
console.log(`\ncost: dynamic page GET /, wrk -c8 -d${args.duration}s, ${args.rounds} alternating rounds (medians):`);
const base = targets.without.runs;
for (const t of Object.values(targets)) {
  const rr = median(t.runs.map((x, i) => x.rps / base[i].rps));
  const pr = median(t.runs.map((x, i) => x.p50 / base[i].p50));
  console.log(`  ${t.label.padEnd(28)} ${median(t.runs.map((x) => x.rps)).toFixed(0).padStart(6)} req/s  p50 ${median(t.runs.map((x) => x.p50)).toFixed(2)} ms   ratio req/s ${rr.toFixed(3)}, p50 ${pr.toFixed(3)}`);
}
console.log("goal: with/without ≥ 0.98× req/s");
