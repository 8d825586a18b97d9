#!/usr/bin/env node
// Benchmark: the edge worker serving a fingerprinted CSS file vs Workers Static Assets serving
// the same file with no user worker, in one run (two Miniflare instances, real workerd), with wrk.
// Also: the Wasm size, and the first-request and steady-state cost with a 20,000-entry manifest.
//
// usage: node bench/edge-assets.mjs [--duration 10] [--connections 16]
// needs: make worker assets (built worker and www/build), wrk, asset-builder (release build)
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { Log, LogLevel, Miniflare } from "miniflare";
import { cli } from "./cli.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = cli(import.meta.url, { duration: { type: "string", default: "10" }, connections: { type: "string", default: "16" } });
const WWW_BUILD = path.join(ROOT, "www/build");
const CSS = JSON.parse(fs.readFileSync(path.join(WWW_BUILD, "manifest.json")))["css/app.css"];
const common = {
  compatibilityDate: "2026-04-26",
  cf: false,
  host: "127.0.0.1",
  port: 0,
  log: new Log(LogLevel.ERROR),
  // Drain (and drop) workerd's output: an unread pipe would fill and stall the worker.
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
};

function worker(assetsDir) {
  return new Miniflare({
    ...common,
    modules: true,
    scriptPath: path.join(ROOT, "edge-worker/build/worker/entry.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    bindings: { EDGE: { public_path: "/assets/" } },
    assets: { directory: assetsDir, binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
  });
}

function staticAssets(assetsDir) {
  // No user worker: the asset router answers every request itself.
  return new Miniflare({
    ...common,
    modules: true,
    script: "export default { fetch() { return new Response('user worker must not run', { status: 500 }); } }",
    assets: { directory: assetsDir, binding: "ASSETS", routerConfig: { has_user_worker: false } },
  });
}

// Async, so this process keeps draining workerd's stdout (a blocked reader stalls the worker).
async function wrk(url, headers) {
  const h = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const { stdout: out } = await promisify(execFile)("wrk", ["-t2", `-c${args.connections}`, `-d${args.duration}s`, "--latency", ...h, url]);
  const num = (re) => {
    const m = out.match(re);
    if (!m) throw new Error(`cannot parse wrk output:\n${out}`);
    const v = parseFloat(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0";
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/50%\s+([\d.]+)(us|ms|s)/), p99: num(/99%\s+([\d.]+)(us|ms|s)/), errors: Number(errors) };
}

async function timedFetch(url, headers = {}) {
  const t = performance.now();
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  return { ms: performance.now() - t, status: r.status };
}

async function check(url, headers, wantEncoding) {
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${url}: status ${r.status}`);
  const enc = r.headers.get("content-encoding") ?? r.headers.get("mf-content-encoding");
  if (wantEncoding && enc !== wantEncoding) throw new Error(`${url}: expected ${wantEncoding}, got ${enc}`);
}

// --- throughput: worker vs static assets, same file, same run -----------------------------------
const a = worker(WWW_BUILD);
const b = staticAssets(WWW_BUILD);
const rows = [];
try {
  const [ua, ub] = [await a.ready, await b.ready];
  const files = { worker: new URL(CSS, ua).href, static: new URL(CSS, ub).href };
  await check(files.worker, { "accept-encoding": "br" }, "br");
  await check(files.static, { "accept-encoding": "br" }, "br");
  for (const [label, hdrs] of [["br", { "Accept-Encoding": "br" }], ["identity", {}]]) {
    // Alternate, twice each, so drift on this shared machine hits both sides alike.
    const runs = { worker: [], static: [] };
    for (let i = 0; i < 2; i++) for (const side of ["worker", "static"]) runs[side].push(await wrk(files[side], hdrs));
    const best = (rs) => rs.reduce((x, y) => (y.rps > x.rps ? y : x));
    rows.push({ label, worker: best(runs.worker), static: best(runs.static) });
  }
} finally {
  await a.dispose();
  await b.dispose();
}

console.log(`\nfile: ${CSS} (${fs.statSync(path.join(WWW_BUILD, CSS)).size} B); wrk -t2 -c${args.connections} -d${args.duration}s, best of 2 alternating runs; ${os.cpus().length} cores`);
console.log(`${"encoding".padEnd(10)}${"side".padEnd(16)}${"req/s".padStart(10)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"non-2xx".padStart(9)}`);
for (const r of rows) {
  for (const side of ["worker", "static"]) {
    const x = r[side];
    console.log(`${r.label.padEnd(10)}${(side === "worker" ? "edge worker" : "static assets").padEnd(16)}${x.rps.toFixed(0).padStart(10)}${x.p50.toFixed(2).padStart(9)}${x.p99.toFixed(2).padStart(9)}${String(x.errors).padStart(9)}`);
  }
  console.log(`${r.label.padEnd(10)}${"ratio (a)/(b)".padEnd(16)}${(r.worker.rps / r.static.rps).toFixed(3).padStart(10)}${(r.worker.p50 / r.static.p50).toFixed(3).padStart(9)}${(r.worker.p99 / r.static.p99).toFixed(3).padStart(9)}`);
}

// --- size ----------------------------------------------------------------------------------
const wasm = fs.readFileSync(path.join(ROOT, "edge-worker/build/index_bg.wasm"));
console.log(`\nwasm: ${(wasm.length / 1024).toFixed(1)} KiB raw, ${(zlib.gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)} KiB gzip (goal ≤ 250 KB gzip)`);

// --- manifest size: first request and steady state, 18 vs ~20,000 entries --------------------------
const big = fs.mkdtempSync(path.join(os.tmpdir(), "edge-bench-20k-"));
try {
  const src = path.join(big, "src");
  fs.cpSync(path.join(ROOT, "www/assets"), src, { recursive: true });
  for (let i = 0; i < 19_900; i++) {
    const dir = path.join(src, "many", String(i % 100));
    if (i % 100 === 0 || !fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.png`), `not really a png ${i}`);
  }
  const res = spawnSync(path.join(ROOT, "target/release/asset-builder"), ["build", src, "--out", path.join(big, "out"), "--no-cache", "--quiet", "--no-fingerprint", "errors/**"], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(res.stderr);
  const bigCss = JSON.parse(fs.readFileSync(path.join(big, "out/manifest.json")))["css/app.css"];
  const entries = Object.keys(JSON.parse(fs.readFileSync(path.join(big, "out/cdn-manifest.json"))).entries).length;
  const measure = async (dir, cssPath, make = worker) => {
    const mf = make(dir);
    try {
      const u = await mf.ready;
      const first = await timedFetch(new URL(cssPath, u).href, { "accept-encoding": "br" });
      const rest = [];
      for (let i = 0; i < 300; i++) rest.push((await timedFetch(new URL(cssPath, u).href, { "accept-encoding": "br" })).ms);
      // a miss (404) exercises a full probe sequence in the hash table
      for (let i = 0; i < 300; i++) rest.push((await timedFetch(new URL(`/assets/none-${i}.css`, u).href)).ms);
      rest.sort((x, y) => x - y);
      return { first: first.ms, p50: rest[Math.floor(rest.length / 2)] };
    } finally {
      await mf.dispose();
    }
  };
  // Fresh instances, small and big interleaved (the machine's drift hits both), medians of 5.
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const runs = { small: [], big: [], staticSmall: [], staticBig: [] };
  for (let i = 0; i < 5; i++) {
    runs.small.push(await measure(WWW_BUILD, CSS));
    runs.big.push(await measure(path.join(big, "out"), bigCss));
    // The platform's own cost of a large asset directory, with no user worker at all.
    runs.staticSmall.push(await measure(WWW_BUILD, CSS, staticAssets));
    runs.staticBig.push(await measure(path.join(big, "out"), bigCss, staticAssets));
  }
  const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { first: median(v.map((x) => x.first)), p50: median(v.map((x) => x.p50)) }]));
  const smallEntries = Object.keys(JSON.parse(fs.readFileSync(path.join(WWW_BUILD, "cdn-manifest.json"))).entries).length;
  const shardCount = fs.readdirSync(path.join(big, "out")).filter((f) => /^cdn-manifest-\d+\.bin$/.test(f)).length;
  const shardKiB = (fs.statSync(path.join(big, "out/cdn-manifest-0.bin")).size / 1024).toFixed(1);
  console.log(`\nfirst request of a fresh isolate and steady p50 (medians of 5 fresh instances, 600 requests each):`);
  console.log(`  edge worker,   ${String(smallEntries).padStart(5)} entries: first ${m.small.first.toFixed(2)} ms, steady p50 ${m.small.p50.toFixed(3)} ms`);
  console.log(`  edge worker,   ${String(entries).padStart(5)} entries: first ${m.big.first.toFixed(2)} ms, steady p50 ${m.big.p50.toFixed(3)} ms (index: ${shardCount} shards of ~${shardKiB} KiB)`);
  console.log(`  static assets, ${String(smallEntries).padStart(5)} files:   first ${m.staticSmall.first.toFixed(2)} ms`);
  console.log(`  static assets, ${String(entries).padStart(5)} files:   first ${m.staticBig.first.toFixed(2)} ms`);
  console.log(`  worker: first-request cost of 20k entries ${(m.big.first - m.small.first).toFixed(2)} ms (platform alone: ${(m.staticBig.first - m.staticSmall.first).toFixed(2)} ms); steady p50 ratio big/small ${(m.big.p50 / m.small.p50).toFixed(2)}`);
} finally {
  fs.rmSync(big, { recursive: true, force: true });
}
