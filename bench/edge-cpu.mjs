#!/usr/bin/env node
// Benchmark: the edge worker's CPU per proxied request against the minimal Rust forwarder
// (bench/forwarder), measured side by side. Every round starts a fresh workerd for each target
// and loads all of them at the same time, each with its own wrk; the CPU each workerd process
// used, divided by the requests it answered, is compared with the forwarder's in that same
// round. The machine's noise (other tenants, frequency, the shared origin) then hits every
// target alike, where bench/edge-pools.mjs's one-target-at-a-time rounds see it as a difference:
// here the standard error of the ratio is about 1 % after 5–6 rounds, enough to measure a change
// of 2–3 %. Req/s and latency are not reported: the targets share the origin and the cores.
//
// usage: node bench/edge-cpu.mjs [--rounds 6] [--duration 5] [--warmup 2] [--connections 4]
//          [--build NAME=DIR[,NAME=DIR...]] [--build-as quiet|signs] [--split]
// Targets: (c) the forwarder; (f) bench/feature-floor.mjs, the edge's proxy features for a GET
// written by hand in JavaScript (header hygiene, X-Forwarded-*, the head timeout, the response
// rebuilt: what the features cost on the platform, apart from how we implement them); (b') the
// edge with request logs (batched); (b'') the edge without logs; (b*) (b') with origin
// authentication (each request signed; the origin does not check, so only the edge's cost
// shows). --build adds (b'') run from other builds of the worker (a copy of edge-worker/build
// made before a change, say), to compare builds in the same rounds; with --build-as signs they
// run as (b*) instead. --split adds two targets made from edge-worker/build, to tell what the
// calls into the core cost from what the edge's setup costs: (j) (f)'s code as the entry of the
// edge's bundle (the Wasm module loaded and instantiated, the edge's bindings, the core never
// called), and (jb) (j) plus the core's first call for each request (`edge_begin`, reading the
// request and planning its first attempt, then `edge_end`). (j) against (f) is the bundle's
// cost; (jb) against (j) is what one call into the core costs when it runs once per request,
// its code and data no longer in the CPU's caches (run back to back, the same call costs about
// a tenth of that), and while V8 still runs part of it in its baseline tier.
// needs: make bench-edge-cpu (builds the worker, the assets and the forwarder), wrk, php
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ORIGIN_KEY, ROOT, poolsConfig, startOrigin, startWorker } from "../tests/e2e/helpers.mjs";
import { cpuMs, withPid } from "./workerd-cpu.mjs";
import { cli, refuse } from "./cli.mjs";

const FORWARDER = "bench/forwarder/build/worker/shim.mjs";
const args = cli(import.meta.url, { rounds: { type: "string", default: "6" }, duration: { type: "string", default: "5" }, connections: { type: "string", default: "4" }, warmup: { type: "string", default: "2" }, build: { type: "string" }, "build-as": { type: "string", default: "quiet" }, split: { type: "boolean", default: false } });
const rounds = Number(args.rounds);
const seconds = Number(args.duration);
const warmup = Number(args.warmup);
if (!(rounds >= 2) || !(seconds >= 1) || !(warmup >= 1)) refuse("--rounds must be at least 2, --duration and --warmup at least 1");
if (!["quiet", "signs"].includes(args["build-as"])) refuse(`--build-as ${args["build-as"]}: want quiet or signs`);
/** --build's builds: name, directory, and entry module (`entry.mjs` since the request path is
 * driven from JavaScript, worker-build's `shim.mjs` in builds from before). */
const builds = (args.build ?? "").split(",").filter(Boolean).map((spec) => {
  const [name, dir] = spec.split("=");
  const entry = ["worker/entry.mjs", "worker/shim.mjs"].find((f) => dir && fs.existsSync(path.join(ROOT, dir, f)));
  if (!name || !entry) refuse(`--build ${spec}: want NAME=DIR, DIR holding worker/entry.mjs or worker/shim.mjs (a copy of edge-worker/build)`);
  return { name, dir, entry };
});
if (!fs.existsSync(path.join(ROOT, FORWARDER))) throw new Error(`${FORWARDER} is missing: run \`make bench-edge\``);
/** wrk against `url` for `secs`: the requests answered; any non-2xx answer or socket error fails the run. */
function wrk(url, secs) {
  return new Promise((resolve, reject) => {
    let out = "";
    const p = spawn("wrk", ["-t1", `-c${args.connections}`, `-d${secs}s`, url]);
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("exit", () => {
      const n = /(\d+) requests in/.exec(out);
      if (!n) return reject(new Error(`cannot parse wrk output:\n${out}`));
      if (/Non-2xx or 3xx responses|Socket errors/.test(out)) return reject(new Error(`${url}: failed requests\n${out}`));
      resolve(Number(n[1]));
    });
  });
}

/**
 * --split's targets: key, label and entry module, each beside a copy of edge-worker/build
 * (whose `index.js` is the Rust module) and of bench/feature-floor.mjs (`floor.mjs`).
 */
function splitEntries() {
  const head = `import Rust, { EdgeCoordinator } from "../index.js";\nimport floor from "./floor.mjs";\nimport { header_fields } from "./runtime.mjs";\nexport { EdgeCoordinator };\nconst core = Rust.prototype;\n`;
  const j = `${head}export default { fetch: (req, env, ctx) => floor.fetch(req, env, ctx) };\n`;
  // The isolate's first request goes through the Rust handler, which loads the state.
  const jb = `${head}export default {
  async fetch(req, env, ctx) {
    const began = core.edge_begin(req.method, req.url, header_fields(req.headers), req.body !== null);
    if (began === undefined) return new Rust(ctx, env).fetch(req);
    core.edge_end(Number(began.slice(0, began.indexOf("\\n") - 2)));
    return floor.fetch(req, env, ctx);
  },
};\n`;
  return [
    ["j", "(j) (f) in the edge's bundle", j],
    ["jb", "(jb) (j) + the core's first call", jb],
  ];
}

const open = await startOrigin({ name: "open", key: null });
const running = [];
try {
  const edge = (logs) => poolsConfig({ main: [open] }, { routes: [{ path_prefix: "/", pools: ["main"], cache: { enabled: false } }], extra: { origin_auth: false, log_requests: logs } });
  // Origin authentication on, against an origin that does not check: the edge's own cost of it.
  const signing = poolsConfig({ main: [open] }, { routes: [{ path_prefix: "/", pools: ["main"], cache: { enabled: false } }], extra: { log_requests: true } });
  const targets = {
    c: { label: "(c) Rust forwarder", start: () => startWorker({ script: FORWARDER, bindings: { ORIGIN: open.url.origin }, keepLog: false }) },
    f: { label: "(f) JS, the edge's features", start: () => startWorker({ script: "bench/feature-floor.mjs", bindings: { ORIGIN: open.url.origin }, keepLog: false }) },
    logs: { label: "(b') edge, logs batched", start: () => startWorker({ edge: edge(true), keepLog: false }) },
    quiet: { label: "(b'') edge, no logs", start: () => startWorker({ edge: edge(false), keepLog: false }) },
    signs: { label: "(b*) edge, logs, signs requests", start: () => startWorker({ edge: signing, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY }, keepLog: false }) },
  };
  for (const { name, dir, entry } of builds) {
    const as = { quiet: { edge: edge(false) }, signs: { edge: signing, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } } }[args["build-as"]];
    targets[name] = { label: `(${args["build-as"] === "signs" ? "b*" : "b''"}) ${dir}`, start: () => startWorker({ script: `${dir}/${entry}`, ...as, keepLog: false, coordinator: true }) };
  }
  if (args.split) {
    for (const [k, label, entry] of splitEntries()) {
      const dir = path.join(ROOT, "target/bench-split", k);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.cpSync(path.join(ROOT, "edge-worker/build"), dir, { recursive: true });
      fs.copyFileSync(path.join(ROOT, "bench/feature-floor.mjs"), path.join(dir, "worker/floor.mjs"));
      fs.writeFileSync(path.join(dir, "worker/entry.mjs"), entry);
      const script = path.relative(ROOT, path.join(dir, "worker/entry.mjs"));
      targets[k] = { label, start: () => startWorker({ script, edge: edge(false), bindings: { ORIGIN: open.url.origin }, keepLog: false, coordinator: true }) };
    }
  }
  const keys = Object.keys(targets);
  const perReq = Object.fromEntries(keys.map((k) => [k, []]));
  console.log(`CPU per proxied GET /, side by side: ${keys.length} workers, wrk -t1 -c${args.connections} -d${seconds}s each at once after ${warmup} s of warm-up, ${rounds} rounds, a fresh workerd each; ${os.cpus().length} cores`);
  for (let r = 0; r < rounds; r++) {
    const ws = {};
    for (const k of keys) {
      ws[k] = await withPid(targets[k].start);
      running.push(ws[k]);
      if (!ws[k].pid) throw new Error(`${targets[k].label}: no workerd process found`);
    }
    await Promise.all(keys.map((k) => wrk(ws[k].url.href, warmup)));
    const cpu0 = Object.fromEntries(keys.map((k) => [k, cpuMs(ws[k].pid)]));
    const answered = await Promise.all(keys.map((k) => wrk(ws[k].url.href, seconds)));
    const us = Object.fromEntries(keys.map((k, i) => [k, ((cpuMs(ws[k].pid) - cpu0[k]) * 1000) / answered[i]]));
    for (const k of keys) perReq[k].push(us[k]);
    console.log(`  round ${r + 1}: ` + keys.map((k, i) => `${k} ${us[k].toFixed(0)} µs (${(answered[i] / seconds).toFixed(0)}/s)`).join(", "));
    for (const k of keys) await ws[k].dispose();
    running.length = 0;
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const stderr = (xs) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1) / xs.length);
  console.log(`\n${"target".padEnd(34)} ${"CPU/req".padStart(9)}  ×(c) median  mean ± s.e.   ×(f) median  mean ± s.e.`);
  for (const k of keys) {
    const vs = (base) => {
      if (k === base) return "1".padEnd(27);
      const r = perReq[k].map((v, i) => v / perReq[base][i]);
      return `${median(r).toFixed(3)}       ${mean(r).toFixed(3)} ± ${stderr(r).toFixed(3)}`;
    };
    console.log(`${targets[k].label.padEnd(34)} ${`${median(perReq[k]).toFixed(0)} µs`.padStart(9)}  ${vs("c")}   ${vs("f")}`);
  }
} finally {
  for (const w of running) await w.dispose().catch(() => {});
  await open.stop();
}
