// `make dev`'s demo (scripts/dev.sh) as a new user pokes at it: the edge keeps serving when an
// origin is killed and the demo says so; the command it prints brings the origin back into
// rotation (and the demo adopts it); Ctrl-C stops everything it started or adopted (PHP workers
// and workerd included) and frees every port. Uses the demo's fixed ports (8001-8003, 8787) on 127.0.0.1.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { after, test } from "node:test";
import { ROOT, request } from "./helpers.mjs";

const EDGE = new URL("http://127.0.0.1:8787");
const PORTS = [8001, 8002, 8003, 8787];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const bound = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
const started = [];
function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.out = "";
  for (const s of [child.stdout, child.stderr]) s.on("data", (d) => (child.out += d));
  child.exited = new Promise((r) => child.once("exit", r));
  started.push(child);
  return child;
}
async function until(what, pred, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await pred()) return;
  throw new Error(`timed out waiting for ${what}`);
}
after(async () => {
  // Ask first (the demo's own cleanup stops the process groups it made), then force.
  for (const c of started) {
    try {
      process.kill(c.pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  await Promise.race([Promise.all(started.map((c) => c.exited)), sleep(5000)]);
  for (const c of started) {
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

test("the demo survives its own failover and cleans up after itself", { timeout: 180_000 }, async () => {
  for (const p of PORTS) assert.equal(await bound(p), false, `port ${p} must be free before the demo starts`);
  const dev = run("scripts/dev.sh", []);
  await until("the demo banner", () => dev.out.includes("Demo running"), 120_000);
  assert.match(dev.out, /scripts\/dev-origin\.sh dc1-a/, "the banner says how to bring an origin back");
  assert.equal((await request(EDGE, "/")).status, 200);

  // Kill one origin (its master and PHP workers), as the banner suggests.
  spawn("pkill", ["-f", "php -S 127.0.0.1:8001"]);
  await until("the demo to report the dead origin", () => dev.out.includes("origin dc1-a stopped"), 10_000);
  assert.equal(dev.exitCode, null, "the demo is still running");
  for (let i = 0; i < 8; i++) {
    // /whoami is never cached: the answer comes from a live origin.
    const r = await request(EDGE, "/whoami");
    assert.equal(r.status, 200, "the edge fails over");
    assert.notEqual(r.headers["x-origin"], "dc1-a");
  }
  assert.equal(await bound(8001), false, "the dead origin's workers are gone too");

  // The printed command brings it back into rotation, and the demo adopts it.
  const back = run("scripts/dev-origin.sh", ["dc1-a"]);
  await until("dc1-a to take traffic again", async () => (await request(EDGE, "/whoami")).headers["x-origin"] === "dc1-a", 30_000);
  await until("the demo to report dc1-a back", () => dev.out.includes("origin dc1-a is back"), 10_000);

  // Ctrl-C stops everything the demo started, the origin brought back included, and every
  // port is free again.
  process.kill(dev.pid, "SIGINT");
  await dev.exited;
  await Promise.race([back.exited, sleep(5000)]);
  assert.notEqual(back.exitCode ?? back.signalCode, null, "the origin brought back was stopped with the demo");
  await sleep(500);
  for (const p of PORTS) assert.equal(await bound(p), false, `port ${p} is free after Ctrl-C`);
  const leftovers = await new Promise((r) => {
    const ps = spawn("pgrep", ["-f", "php -S 127.0.0.1:800[123]|wrangler dev --ip 127.0.0.1 --port 8787"]);
    let out = "";
    ps.stdout.on("data", (d) => (out += d));
    ps.on("exit", () => r(out.trim()));
  });
  assert.equal(leftovers, "", "no PHP worker or workerd left running");
});
