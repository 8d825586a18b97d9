#!/usr/bin/env node
// Benchmark of the edge's shared cache, in one run:
//   1. cache hits (a Symfony page stored at the edge) against the same worker's asset path (a
//      fingerprinted CSS file) and against the origin directly — wrk requests/s, p50, p99;
//   2. 100 concurrent misses of one URL: how many requests reach the origin (goal 1);
//   3. every origin killed: the share of requests for cached pages answered, and their latency
//      next to hits (goal: 100 %, p99 at most 50 ms more than a hit, no wait for timeouts).
//
// usage: node bench/edge-cache.mjs [--duration 8] [--connections 8]   (after make worker assets)
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import os from "node:os";
import { ORIGIN_KEY, manifests, poolsConfig, request, startOrigin, startRawOrigin, startWorker } from "../tests/e2e/helpers.mjs";
import { cli } from "./cli.mjs";

const args = cli(import.meta.url, { duration: { type: "string", default: "8" }, connections: { type: "string", default: "8" } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function wrk(url) {
  const { stdout: out } = await promisify(execFile)("wrk", ["-t2", `-c${args.connections}`, `-d${args.duration}s`, "--latency", url]);
  const num = (re) => {
    const m = out.match(re);
    const v = parseFloat(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/50%\s+([\d.]+)(us|ms|s)/), p99: num(/99%\s+([\d.]+)(us|ms|s)/), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) };
}

// --- 1. hits vs assets vs origin ----------------------------------------------------------------
const o = await startOrigin({ name: "bench-cache" });
const direct = await startOrigin({ name: "bench-direct", key: null });
const w = await startWorker({ edge: poolsConfig({ main: [o] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY }, keepLog: false });
const css = Object.values(manifests().symfony).find((u) => u.endsWith(".css"));
const rows = {};
try {
  const warm = await request(w.url, "/about");
  if (!/stored|hit/.test(warm.headers["cache-status"] ?? "")) throw new Error(`/about not stored: ${warm.headers["cache-status"]}`);
  const hit = await request(w.url, "/about");
  if (!/hit/.test(hit.headers["cache-status"])) throw new Error(`/about not a hit: ${hit.headers["cache-status"]}`);
  const targets = { hit: new URL("/about", w.url).href, asset: new URL(css, w.url).href, origin: new URL("/about", direct.url).href };
  for (const [k, u] of Object.entries(targets)) {
    await wrk(u);
    rows[k] = [];
  }
  for (let round = 0; round < 3; round++) for (const [k, u] of Object.entries(targets)) rows[k].push(await wrk(u));
} finally {
  await w.dispose();
  await direct.stop();
}
const med = (k, f) => {
  const s = rows[k].map((x) => x[f]).sort((a, b) => a - b);
  return s[1];
};
console.log(`\nGET, wrk -t2 -c${args.connections} -d${args.duration}s, median of 3 alternating rounds; ${os.cpus().length} cores`);
console.log(`${"".padEnd(34)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}`);
for (const [k, label] of [["hit", "cache hit (Symfony page /about)"], ["asset", `asset path (${css.split("/").pop()})`], ["origin", "origin directly (/about)"]]) {
  console.log(`${label.padEnd(34)}${med(k, "rps").toFixed(0).padStart(9)}${med(k, "p50").toFixed(2).padStart(9)}${med(k, "p99").toFixed(2).padStart(9)}`);
}
console.log(`hit / asset: req/s ${(med("hit", "rps") / med("asset", "rps")).toFixed(3)}, p50 ${(med("hit", "p50") / med("asset", "p50")).toFixed(3)}  (goal: req/s ≥ 0.9)`);
console.log(`hit / origin: req/s ${(med("hit", "rps") / med("origin", "rps")).toFixed(3)}, p50 ${(med("hit", "p50") / med("origin", "p50")).toFixed(3)}`);

// --- 2. concurrent misses --------------------------------------------------------------------------
{
  const slow = await startRawOrigin(async () => {
    await sleep(500);
    return `HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok`;
  });
  const cw = await startWorker({ edge: poolsConfig({ p: [{ url: slow.url.origin }] }, { extra: { origin_auth: false, log_requests: false } }), keepLog: false });
  try {
    const all = await Promise.all(Array.from({ length: 100 }, () => request(cw.url, "/hot", { timeout: 20_000 })));
    const ok = all.filter((r) => r.status === 200).length;
    console.log(`\n100 concurrent misses of one URL: ${slow.count()} origin request(s), ${ok} answered 200 (goal: 1 origin request)`);
  } finally {
    await cw.dispose();
    await slow.close();
  }
}

// --- 3. every origin killed --------------------------------------------------------------------------
{
  const pages = ["/", "/about"];
  const sample = async (ms) => {
    const out = [];
    const end = Date.now() + ms;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const p = pages[out.length % 2];
        const t = performance.now();
        try {
          const r = await request(w2.url, p, { timeout: 20_000 });
          out.push({ ok: r.status === 200, ms: performance.now() - t, status: r.headers["cache-status"] ?? "" });
        } catch {
          out.push({ ok: false, ms: performance.now() - t });
        }
      }
    }));
    return out;
  };
  const o2 = await startOrigin({ name: "bench-down" });
  const w2 = await startWorker({ edge: poolsConfig({ main: [o2] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY }, keepLog: false });
  try {
    for (const p of pages) await request(w2.url, p);
    const hits = await sample(3000);
    await o2.kill();
    const down = await sample(6000);
    const answered = down.filter((r) => r.ok).length;
    const hitP99 = pct(hits.map((r) => r.ms), 0.99);
    const downP99 = pct(down.map((r) => r.ms), 0.99);
    const afterEjection = down.slice(Math.floor(down.length / 2));
    console.log(`\nevery origin killed, 4 loops over / and /about for 6 s (stale-if-error=86400):`);
    console.log(`  answered ${answered}/${down.length} (${((100 * answered) / down.length).toFixed(1)} %; goal 100 %)`);
    console.log(`  latency p50/p99: hits before ${pct(hits.map((r) => r.ms), 0.5).toFixed(2)}/${hitP99.toFixed(2)} ms, origins down ${pct(down.map((r) => r.ms), 0.5).toFixed(2)}/${downP99.toFixed(2)} ms → p99 +${(downP99 - hitP99).toFixed(2)} ms (goal ≤ 50 ms)`);
    console.log(`  once ejected (second half): p99 ${pct(afterEjection.map((r) => r.ms), 0.99).toFixed(2)} ms, max ${Math.max(...afterEjection.map((r) => r.ms)).toFixed(2)} ms`);
  } finally {
    await w2.dispose();
    await o2.stop();
  }
}
await o.stop();
