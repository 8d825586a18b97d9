#!/usr/bin/env node
// Benchmark: a dynamic Symfony page through the edge worker against two floors, in one run:
//   - a minimal Rust forwarder (bench/forwarder: web_sys types, built with the same pinned tools
//     and profile) with the same [assets] setup (run_worker_first) as our worker: the difference
//     is our own code;
//   - the same forwarder logging one line per request (c'): what a console.log costs on this
//     platform, apart from our code (the edge batches its request lines; (b1) logs each at once);
//   - a three-line JavaScript forwarder without assets (the platform's floor in Miniflare);
//   - the origin directly.
// Targets alternate round by round (wrk each time; each round starts at the next target, so no
// target always follows the same one); medians over the rounds, and the median of
// the per-round ratios to the Rust floor (paired, so slow drifts of this shared machine cancel).
// Then failover figures under continuous load: failed requests and the time until all traffic
// avoids a killed origin, and a killed pool.
//
// usage: node bench/edge-pools.mjs [--rounds 7] [--duration 5] [--connections 8]
//          [--only edge,signs,open,quiet,each,rust,rustLog,js,direct] [--no-failover] [--baseline DIR]
//          [--reuse] [--warmup 2]
// (each round runs every worker in a fresh workerd, warmed up for --warmup seconds; --reuse
// keeps the first instances for the whole run. A young isolate runs part of the edge's Wasm in
// V8's baseline tier (Liftoff) for its first thousands of requests: a function is compiled by
// the optimising tier once it has run enough code. --warmup 30 measures a busy isolate's
// steady state instead, the default 2 s one that has just started)
// (--only keeps those targets; the two Rust floors are always kept, the ratios need them;
// --baseline DIR adds (b'') run from another build of the worker, e.g. a copy of
// edge-worker/build made before a change, to compare a change's cost in the same run)
// needs: make bench-edge (builds the worker, the assets and the forwarder), wrk, php
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Log, LogLevel, Miniflare } from "miniflare";
import { ORIGIN_KEY, ROOT, poolsConfig, request, startOrigin, startWorker } from "../tests/e2e/helpers.mjs";
import { cpuMs, withPid } from "./workerd-cpu.mjs";
import { cli, refuse } from "./cli.mjs";

const FORWARDER = "bench/forwarder/build/worker/shim.mjs";

/** The platform's floor: a three-line JavaScript worker that only forwards to the origin. */
async function jsPassThrough(origin) {
  const mf = new Miniflare({
    modules: true,
    script: `export default { fetch(req) { const u = new URL(req.url); return fetch("${origin}" + u.pathname + u.search, { method: req.method, headers: req.headers, body: req.body }); } }`,
    compatibilityDate: "2026-04-26",
    host: "127.0.0.1",
    port: 0,
    cf: false,
    log: new Log(LogLevel.ERROR),
  });
  return { mf, url: await mf.ready, dispose: () => mf.dispose() };
}

const args = cli(import.meta.url, { rounds: { type: "string", default: "7" }, duration: { type: "string", default: "5" }, connections: { type: "string", default: "8" }, only: { type: "string" }, "no-failover": { type: "boolean", default: false }, baseline: { type: "string" }, reuse: { type: "boolean", default: false }, warmup: { type: "string", default: "2" } });
const warmup = Number(args.warmup);
if (!(warmup >= 1)) refuse("--warmup must be at least 1 (seconds)");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  return [q(0.25), q(0.75)];
};

// Async, so this process keeps draining workerd's stdout (the worker logs every proxied request;
// a blocked reader fills the pipe and stalls the worker).
async function wrk(url, seconds = args.duration) {
  const { stdout: out } = await promisify(execFile)("wrk", ["-t2", `-c${args.connections}`, `-d${seconds}s`, "--latency", url]);
  const num = (re) => {
    const m = out.match(re);
    if (!m) throw new Error(`cannot parse wrk output:\n${out}`);
    const v = parseFloat(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { requests, rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/50%\s+([\d.]+)(us|ms|s)/), p99: num(/99%\s+([\d.]+)(us|ms|s)/), non2xx, errors };
}

// --- throughput and latency against the floors -------------------------------------------------
// The page is cacheable (s-maxage=30): the edge's cache is off here so every request reaches the
// origin, like the forwarders' (bench/edge-cache.mjs measures the cache).
const uncached = (pool) => ({ routes: [{ path_prefix: "/", pools: [pool], cache: { enabled: false } }] });
const quietEdge = (open) => poolsConfig({ main: [open] }, { ...uncached("main"), extra: { origin_auth: false, log_requests: false } });
// Each target: its label and how to start it (from the two origins); only the kept ones start.
// The baseline build's entry module: `entry.mjs` since the request path is driven from
// JavaScript, worker-build's `shim.mjs` in builds from before.
const baselineEntry = args.baseline && ["worker/entry.mjs", "worker/shim.mjs"].map((f) => path.resolve(args.baseline, f)).find((f) => fs.existsSync(f));
if (args.baseline && !baselineEntry) refuse(`--baseline: ${args.baseline} holds neither worker/entry.mjs nor worker/shim.mjs (want a copy of edge-worker/build)`);
const specs = {
  direct: { label: "(a) origin directly", url: ({ open }) => open.url },
  edge: { label: "(b) edge worker (auth, logs)", start: ({ signed }) => startWorker({ edge: poolsConfig({ main: [signed] }, uncached("main")), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY }, keepLog: false }) },
  open: { label: "(b') edge, no origin auth", start: ({ open }) => startWorker({ edge: poolsConfig({ main: [open] }, { ...uncached("main"), extra: { origin_auth: false } }), keepLog: false }) },
  quiet: { label: "(b'') edge, no auth, no log", start: ({ open }) => startWorker({ edge: quietEdge(open), keepLog: false }) },
  each: { label: "(b1) (b') with log_batch 1", start: ({ open }) => startWorker({ edge: poolsConfig({ main: [open] }, { ...uncached("main"), extra: { origin_auth: false, log_batch: 1 } }), keepLog: false }) },
  signs: { label: "(b*) edge signs, no verify", start: ({ open }) => startWorker({ edge: poolsConfig({ main: [open] }, uncached("main")), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY }, keepLog: false }) },
  rust: { label: "(c) Rust forwarder + assets", start: ({ open }) => startWorker({ script: FORWARDER, bindings: { ORIGIN: open.url.origin }, keepLog: false }) },
  rustLog: { label: "(c') (c) + a log line", start: ({ open }) => startWorker({ script: FORWARDER, bindings: { ORIGIN: open.url.origin, LOG: "1" }, keepLog: false }) },
  ...(args.baseline && {
    base: { label: "(b'') from --baseline", start: ({ open }) => startWorker({ script: path.relative(ROOT, baselineEntry), edge: quietEdge(open), keepLog: false, coordinator: true }) },
  }),
  js: { label: "(d) JS forwarder, no assets", start: ({ open }) => jsPassThrough(open.url.origin) },
};
if (args.only) {
  const keep = new Set([...args.only.split(","), "rust", "rustLog", ...(args.baseline ? ["base"] : [])]);
  const unknown = [...keep].filter((k) => !(k in specs));
  if (unknown.length) refuse(`--only: unknown target ${unknown.join(", ")}; targets are ${Object.keys(specs).join(", ")}`);
  for (const k of Object.keys(specs)) if (!keep.has(k)) delete specs[k];
}
// After the options' checks: a wrong option is a usage error whether or not the floor is built.
if (!fs.existsSync(path.join(ROOT, FORWARDER))) throw new Error(`${FORWARDER} is missing: run \`make bench-edge\``);

const origins = {
  open: await startOrigin({ name: "open", key: null }), // no origin auth: the floors, edge without auth
  signed: await startOrigin({ name: "signed" }), // verifies the edge's signature (and nonce)
};
const { open } = origins;
const targets = {};
const rounds = Number(args.rounds);
try {
  // (Re)starts a target's worker (a new workerd process and isolate), checks that it answers
  // 200 and warms it up (not counted).
  const launch = async (k, t, seconds) => {
    await t.w?.dispose();
    if (specs[k].start) {
      t.w = await withPid(() => specs[k].start(origins));
      t.url = t.w.url;
    } else t.url = specs[k].url(origins);
    const r = await request(t.url, "/");
    if (r.status !== 200) throw new Error(`${k}: status ${r.status}: ${r.body.toString().slice(0, 200)}`);
    await wrk(new URL("/", t.url).href, seconds);
  };
  for (const [k, spec] of Object.entries(specs)) {
    targets[k] = { key: k, label: spec.label, runs: [] };
    await launch(k, targets[k], Math.max(warmup, Number(args.duration)));
  }
  const list = Object.values(targets);
  for (let i = 0; i < rounds; i++) {
    // Each round starts at a different target: whatever follows a heavy run (an origin still
    // draining, a collection in the previous workerd) falls on every target in turn.
    for (const t of list.map((_, j) => list[(i + j) % list.length])) {
      // A fresh instance each round (unless --reuse): identical builds differ by up to ~10 %
      // of CPU per request from one workerd instance to the next (where V8 placed the code,
      // when it tiered the Wasm up), so one instance per target would decide the whole run.
      if (i > 0 && !args.reuse && specs[t.key].start) await launch(t.key, t, warmup);
      const cpu0 = t.w?.pid ? cpuMs(t.w.pid) : null;
      const run = await wrk(new URL("/", t.url).href);
      if (cpu0 !== null && run.requests) run.cpuUs = ((cpuMs(t.w.pid) - cpu0) * 1000) / run.requests;
      t.runs.push(run);
    }
    process.stderr.write(`round ${i + 1}/${rounds} done\n`);
  }
} finally {
  for (const t of Object.values(targets)) await t.w?.dispose();
  await origins.open.stop();
  await origins.signed.stop();
}
console.log(`\ndynamic page GET / — wrk -t2 -c${args.connections} -d${args.duration}s, ${rounds} alternating rounds${args.reuse ? "" : ", a fresh instance of each worker per round"}, warm-up ${warmup} s, medians; ${os.cpus().length} cores`);
console.log(`${"".padEnd(30)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}   vs (c): req/s [IQR]     p50 [IQR]         vs (c'): req/s   p50   CPU µs/req  vs (c) [IQR]`);
const rust = targets.rust.runs;
const rustLog = targets.rustLog.runs;
const paired = (runs, floor, k) => runs.map((x, i) => x[k] / floor[i][k]);
/** Median workerd CPU per request and its paired ratio to (c), when measured. */
function cpuColumns(t) {
  if (!t.runs.every((x) => x.cpuUs) || !rust.every((x) => x.cpuUs)) return "";
  const r = paired(t.runs, rust, "cpuUs");
  const [l, h] = quartiles(r);
  return `${median(t.runs.map((x) => x.cpuUs)).toFixed(0).padStart(12)}  ${median(r).toFixed(3)} [${l.toFixed(2)}–${h.toFixed(2)}]`;
}
for (const t of Object.values(targets)) {
  const rps = median(t.runs.map((x) => x.rps));
  const p50 = median(t.runs.map((x) => x.p50));
  const p99 = median(t.runs.map((x) => x.p99));
  const rr = paired(t.runs, rust, "rps");
  const pr = paired(t.runs, rust, "p50");
  const [rl, rh] = quartiles(rr);
  const [pl, ph] = quartiles(pr);
  const bad = t.runs.reduce((n, x) => n + x.non2xx, 0);
  console.log(
    `${t.label.padEnd(30)}${rps.toFixed(0).padStart(9)}${p50.toFixed(2).padStart(9)}${p99.toFixed(2).padStart(9)}   ` +
      `${median(rr).toFixed(3)} [${rl.toFixed(2)}–${rh.toFixed(2)}]   ${median(pr).toFixed(3)} [${pl.toFixed(2)}–${ph.toFixed(2)}]   ` +
      `${median(paired(t.runs, rustLog, "rps")).toFixed(3).padStart(9)} ${median(paired(t.runs, rustLog, "p50")).toFixed(3).padStart(6)}` +
      cpuColumns(t) +
      (bad ? `   non-2xx ${bad}` : ""),
  );
}
console.log("goals: the edge's p50 ≤ 1.05× (c) and req/s ≥ 0.95× (c), with request logs on. (b') is the like-for-like");
console.log("edge: it logs, and like (c) it does not sign; (b*) adds the edge's signing for an origin that does not check");
console.log("(the edge's own cost of origin authentication, on by default); (b) also has its origin verify each signature");
console.log("and nonce in PHP, on these same two cores. A worker that logs also compares like for like with (c'), the floor");
console.log("that logs the same one line per request. The edge writes its request lines in batches (log_batch, 32 by");
console.log("default); (b1) writes each at once, one console.log per request as (c') does. (c') − (c) is a log line's cost.");
for (const k of ["open", "signs", "edge"]) {
  const t = targets[k];
  if (!t) continue;
  const rr = median(paired(t.runs, rust, "rps"));
  const pr = median(paired(t.runs, rust, "p50"));
  const met = rr >= 0.95 && pr <= 1.05;
  console.log(`  ${t.label}: req/s ${rr.toFixed(3)}× (c), p50 ${pr.toFixed(3)}× (c): ${met ? "met" : "NOT met"}`);
}
console.log("CPU µs/req: user + system time of the worker's own workerd process per request (/proc), which other load");
console.log("on the shared cores moves far less than req/s and latency.");

// --- failover under load ------------------------------------------------------------------------
async function scenario(label, kill) {
  const o = {};
  for (const n of ["a1", "a2", "b1"]) o[n] = await startOrigin({ name: `fo-${n}` });
  const edge = poolsConfig({ dc1: [o.a1, o.a2], dc2: [o.b1] });
  const fw = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "bench" } });
  try {
    const results = [];
    let stop = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const t = Date.now();
        try {
          const r = await fw.request("/orders", { timeout: 20_000 });
          results.push({ t, ok: r.status === 200, origin: r.headers["x-origin"], why: r.status === 200 ? undefined : `status ${r.status}: ${r.body.toString().slice(0, 80).trim()}` });
        } catch (e) {
          results.push({ t, ok: false, why: String(e) });
        }
      }
    });
    await sleep(1500);
    const victims = kill.map((n) => o[n]);
    const killedAt = Date.now();
    await Promise.all(victims.map((v) => v.kill()));
    // Detection: until the worker marks every killed origin unavailable (ejected).
    let avoidedAt = null;
    while (Date.now() - killedAt < 20_000) {
      const h = JSON.parse((await fw.request("/__edge/health", { headers: { authorization: "Bearer bench" } })).body);
      const all = Object.values(h.pools).flatMap((p) => p.origins);
      if (victims.every((v) => all.some((x) => x.url === v.url.origin && !x.available))) {
        avoidedAt = Date.now();
        break;
      }
      await sleep(10);
    }
    await sleep(2000);
    stop = true;
    await Promise.all(loops);
    const after = results.filter((r) => r.t >= killedAt);
    const failures = results.filter((r) => !r.ok);
    const failed = failures.length;
    for (const f of failures.slice(0, 3)) console.log(`   failure ${f.t - killedAt} ms after the kill: ${f.why}`);
    const served = [...new Set(after.filter((r) => r.t > (avoidedAt ?? killedAt) + 200).map((r) => r.origin))].sort();
    console.log(
      `${label.padEnd(30)} requests ${String(results.length).padStart(5)}, failed ${failed}, ` +
        `all traffic avoids it after ${avoidedAt ? `${avoidedAt - killedAt} ms` : "never (20 s)"}, then served by ${served.join(", ")}`,
    );
    return failed;
  } finally {
    await fw.dispose();
    for (const x of Object.values(o)) await x.stop();
  }
}
if (args["no-failover"]) process.exit(0);
console.log("\nfailover under load (4 concurrent GET loops, pools dc1 = a1, a2 and dc2 = b1; passive ejection after 3 failures):");
const f1 = await scenario("kill one origin (a2)", ["a2"]);
const f2 = await scenario("kill a whole pool (dc1)", ["a1", "a2"]);
console.log(`goal: zero failed GETs in both (${f1 + f2 === 0 ? "met" : "NOT met"})`);
