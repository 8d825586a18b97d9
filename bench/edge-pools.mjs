#!/usr/bin/env node
// Benchmark: a dynamic Symfony page (a) fetched directly from one origin and (b) through the
// worker in Miniflare, in one run (wrk); then failover figures under continuous load: failed
// requests and the time until all traffic avoids a killed origin, for one origin and for a whole
// pool.
//
// usage: node bench/edge-pools.mjs [--duration 10] [--connections 8]
// needs: make worker assets, wrk, php (Debian's Symfony packages)
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import os from "node:os";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare } from "miniflare";
import { ORIGIN_KEY, poolsConfig, request, startOrigin, startWorker } from "../tests/e2e/helpers.mjs";

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

const { values: args } = parseArgs({ options: { duration: { type: "string", default: "10" }, connections: { type: "string", default: "8" } } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Async, so this process keeps draining workerd's stdout (the worker logs every proxied request;
// a blocked reader fills the pipe and stalls the worker).
async function wrk(url) {
  const { stdout: out } = await promisify(execFile)("wrk", ["-t2", `-c${args.connections}`, `-d${args.duration}s`, "--latency", url]);
  const num = (re) => {
    const m = out.match(re);
    if (!m) throw new Error(`cannot parse wrk output:\n${out}`);
    const v = parseFloat(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/50%\s+([\d.]+)(us|ms|s)/), p99: num(/99%\s+([\d.]+)(us|ms|s)/), non2xx, errors };
}

// --- (a) direct vs (b) through the worker --------------------------------------------------------
const direct = await startOrigin({ name: "direct", key: null });
const behind = await startOrigin({ name: "behind" });
const w = await startWorker({ edge: poolsConfig({ main: [behind] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
const floor = await jsPassThrough(direct.url.origin);
const quiet = await startWorker({ edge: poolsConfig({ main: [behind] }, { extra: { log_requests: false } }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
let rows;
try {
  for (const u of [new URL("/", direct.url), new URL("/", w.url), new URL("/", quiet.url), new URL("/", floor.url)]) {
    const r = await request(u, u.pathname);
    if (r.status !== 200) throw new Error(`${u}: status ${r.status}`);
  }
  const runs = { direct: [], edge: [], quiet: [], floor: [] };
  for (let i = 0; i < 2; i++) {
    runs.direct.push(await wrk(new URL("/", direct.url).href));
    runs.edge.push(await wrk(new URL("/", w.url).href));
    runs.quiet.push(await wrk(new URL("/", quiet.url).href));
    runs.floor.push(await wrk(new URL("/", floor.url).href));
  }
  const best = (rs) => rs.reduce((x, y) => (y.rps > x.rps ? y : x));
  rows = { direct: best(runs.direct), edge: best(runs.edge), quiet: best(runs.quiet), floor: best(runs.floor) };
} finally {
  await w.dispose();
  await quiet.dispose();
  await floor.dispose();
  await direct.stop();
  await behind.stop();
}
console.log(`\ndynamic page GET / — wrk -t2 -c${args.connections} -d${args.duration}s, best of 2 alternating runs; ${os.cpus().length} cores`);
console.log(`${"".padEnd(26)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}  errors`);
for (const [k, label] of [["direct", "(a) origin directly"], ["edge", "(b) through the worker"], ["quiet", "(b') worker, no request log"], ["floor", "(c) 3-line JS forwarder"]]) {
  const x = rows[k];
  console.log(`${label.padEnd(26)}${x.rps.toFixed(0).padStart(9)}${x.p50.toFixed(2).padStart(9)}${x.p99.toFixed(2).padStart(9)}  non-2xx ${x.non2xx}, socket ${x.errors}`);
}
console.log(`${"ratio (c)/(a)".padEnd(26)}${(rows.floor.rps / rows.direct.rps).toFixed(3).padStart(9)}${(rows.floor.p50 / rows.direct.p50).toFixed(3).padStart(9)}${(rows.floor.p99 / rows.direct.p99).toFixed(3).padStart(9)}   (the platform's floor in Miniflare)`);
console.log(`${"ratio (b')/(a)".padEnd(26)}${(rows.quiet.rps / rows.direct.rps).toFixed(3).padStart(9)}${(rows.quiet.p50 / rows.direct.p50).toFixed(3).padStart(9)}${(rows.quiet.p99 / rows.direct.p99).toFixed(3).padStart(9)}`);
console.log(`${"ratio (b)/(a)".padEnd(26)}${(rows.edge.rps / rows.direct.rps).toFixed(3).padStart(9)}${(rows.edge.p50 / rows.direct.p50).toFixed(3).padStart(9)}${(rows.edge.p99 / rows.direct.p99).toFixed(3).padStart(9)}   (goal: p50 ratio ≤ 1.2)`);

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
console.log("\nfailover under load (4 concurrent GET loops, pools dc1 = a1, a2 and dc2 = b1; passive ejection after 3 failures):");
const f1 = await scenario("kill one origin (a2)", ["a2"]);
const f2 = await scenario("kill a whole pool (dc1)", ["a1", "a2"]);
console.log(`goal: zero failed GETs in both (${f1 + f2 === 0 ? "met" : "NOT met"})`);
