#!/usr/bin/env node
// Conformance of the edge as a shared HTTP cache: runs the public HTTP cache test suite
// (../shared/cache-tests, pinned; see its README) through the built worker in Miniflare, with a
// pool pointing at the suite's own origin server (origin authentication off: the suite's server
// cannot verify it), and prints our counts beside the published results of other caches.
//
// usage: node bench/cache-tests.mjs [--grace 0] [--port 8000] [--shared ../shared]   (after make worker assets)
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, startWorker } from "../tests/e2e/helpers.mjs";
import { cli, refuse } from "./cli.mjs";

const args = cli(import.meta.url, { grace: { type: "string", default: "0" }, port: { type: "string", default: "8000" }, shared: { type: "string", default: path.join(ROOT, "..", "shared") }, out: { type: "string", default: path.join(ROOT, "target", "cache-tests-results.json") } });
const runner = path.join(args.shared, "cache-tests", "run.sh");
if (!fs.existsSync(runner)) refuse(`${runner} not found: pass --shared DIR (the folder holding cache-tests/)`);
const edge = {
  public_path: "/assets/",
  origin_auth: false,
  log_requests: false,
  // The suite's origin fails on purpose (503s, closed connections) in many tests: passive
  // ejection would take it out of rotation and turn every stale copy into an "origins down"
  // answer for the tests that follow.
  eject_after_failures: 1000,
  pools: { suite: { origins: [{ url: `http://127.0.0.1:${args.port}` }] } },
  // --grace N: the route's default_grace_s (0 by default, as shipped). With a grace the edge may
  // serve stale copies when the origin fails, which the suite's "must not serve stale when
  // prohibited" tests need to be able to observe.
  routes: [{ path_prefix: "/", pools: ["suite"], cache: { default_grace_s: Number(args.grace) } }],
};
const w = await startWorker({ edge, keepLog: false });
try {
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  const code = await new Promise((resolve) => {
    const child = spawn("bash", [runner, w.url.origin, args.port], { stdio: "inherit", env: { ...process.env, CT_OUT: args.out } });
    child.on("exit", resolve);
  });
  if (code !== 0) process.exitCode = code;
  console.log(`raw results: ${path.relative(ROOT, args.out)}`);
} finally {
  await w.dispose();
}
