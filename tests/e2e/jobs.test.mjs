// Scheduled jobs end to end: the coordinator Durable Object (in workerd, through Miniflare) runs
// `every_s` jobs on three real Symfony origins that share one idempotency store, while origins
// are killed and restarted at random moments. The origins' shared log is the ground truth: each
// run's key must be there exactly once. Also: a job longer than its interval is skipped, never
// overlapped; a failing job is recorded failed; job paths are not public; the status page renders
// (HTML, and a headless-Chromium screenshot that is not blank).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TOKEN = "jobs-token";
const APPENDERS = ["a1", "a2", "a3", "a4", "a5", "a6"]; // six jobs every 2 s: 3 runs a second
const EVERY_S = 2;
const SLOW_MS = 2500;
let shared, origins, w;

before(async () => {
  shared = fs.mkdtempSync(path.join(os.tmpdir(), "jobs-shared-"));
  origins = [];
  for (const n of ["j1", "j2", "j3"]) origins.push(await startOrigin({ name: n, env: { APP_SHARED_DIR: shared } }));
  const edge = poolsConfig({ app: origins }, { extra: { health_interval_s: 1, coordinator_poll_ms: 200 } });
  edge.pools.app.health = { path: "/health", expected_body: "ok", timeout_ms: 500, healthy_threshold: 2, unhealthy_threshold: 2 };
  edge.jobs = [
    ...APPENDERS.map((name) => ({ name, every_s: EVERY_S, pool: "app", path: "/_jobs/append", timeout_ms: 5000, max_run_s: 6 })),
    { name: "slow", every_s: 1, pool: "app", path: `/_jobs/sleep?ms=${SLOW_MS}`, timeout_ms: 5000, max_run_s: 6 },
    // PHP's built-in server may queue a request behind the slow job's on the same worker process:
    // timeouts longer than that sleep, so that only a real failure moves a run to another origin.
    { name: "broken", every_s: 2, pool: "app", path: "/_jobs/fail", timeout_ms: 5000, max_run_s: 6 },
  ];
  w = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: TOKEN } });
  assert.equal((await w.request("/orders")).status, 200); // the first request arms the alarm
});
after(async () => {
  await w?.dispose();
  for (const o of origins ?? []) await o.stop();
  if (shared) fs.rmSync(shared, { recursive: true, force: true });
});

const bearer = { authorization: `Bearer ${TOKEN}` };
const health = async () => JSON.parse((await w.request("/__edge/health", { headers: bearer })).body);
/** The shared log: [{ key, origin, t }], in file order. */
const executions = () => {
  const file = path.join(shared, "jobs.log");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [key, origin, t] = l.split(" ");
      return { key, origin, t: Number(t) };
    });
};
/** The coordinator's log lines for finished runs. */
const runLines = () =>
  w.log
    .filter((l) => l.includes('"event":"job"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));

test("a job's path is not reachable from the public, however spelled", async () => {
  for (const p of ["/_jobs/append", "/_jobs//append/", "/_jobs/%61ppend", "/_jobs/sleep?ms=1", "/index.php/_jobs/append", "/index%2Ephp/_jobs/append"]) {
    const r = await w.request(p, { method: "POST", headers: { "idempotency-key": "public@1" } });
    assert.equal(r.status, 404, p);
    assert.equal(r.headers["x-origin"], undefined, `${p} reached an origin`);
  }
  assert.ok(!executions().some((e) => e.key === "public@1"));
});

test("a job longer than its interval is skipped while it runs, never overlapped", async () => {
  await sleep(9000);
  const slow = executions().filter((e) => e.key.startsWith("slow@"));
  assert.ok(slow.length >= 2, `slow ran ${slow.length} times in 9 s`);
  for (let i = 1; i < slow.length; i++) {
    // Each line is written when its run ends; a run lasts SLOW_MS.
    assert.ok(slow[i].t - slow[i - 1].t >= SLOW_MS / 1000 - 0.05, `runs overlap: ${JSON.stringify(slow.slice(i - 1, i + 1))}`);
  }
  const job = (await health()).jobs.find((j) => j.name === "slow");
  assert.ok(job.counts.skipped >= 2, JSON.stringify(job));
  assert.equal(new Set(slow.map((e) => e.key)).size, slow.length, "no key twice");
});

test("a failing job is recorded as failed, with the origin's status, and not sent elsewhere", async () => {
  let job;
  for (let i = 0; i < 100; i++) {
    job = (await health()).jobs.find((j) => j.name === "broken");
    if (job.counts.failed >= 2) break;
    await sleep(100);
  }
  assert.ok(job.counts.failed >= 2, JSON.stringify(job));
  assert.equal(job.counts.succeeded, 0);
  const failed = runLines().filter((l) => l.key.startsWith("broken@"));
  assert.ok(failed.length >= 2);
  for (const l of failed) {
    assert.equal(l.error, "status 500", JSON.stringify(l));
    assert.equal(l.attempts, 1, `an application's own answer is final: ${JSON.stringify(l)}\n${w.log.filter((x) => x.includes("broken")).join("\n")}`);
  }
});

test("over 200 runs with origins killed and restarted at random: no run executed twice, none missed", async () => {
  const start = Date.now();
  let stop = false;
  let kills = 0;
  const chaos = (async () => {
    while (!stop) {
      const victim = origins[Math.floor(Math.random() * origins.length)];
      await sleep(300 + Math.random() * 2000);
      if (stop) break;
      await victim.kill();
      kills++;
      await sleep(500 + Math.random() * 2500);
      await victim.start();
    }
  })();
  await sleep(72_000);
  stop = true;
  await chaos;
  const end = Date.now();
  await sleep(7000); // every run of the window has ended (max_run_s = 6)

  const log = executions();
  const seen = new Map();
  for (const e of log) seen.set(e.key, (seen.get(e.key) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(duplicates, [], "keys executed more than once");

  // Every instant of every appender inside the window ran (instants are multiples of EVERY_S).
  const expected = [];
  for (let s = Math.ceil(start / 1000 / EVERY_S) * EVERY_S; s * 1000 <= end - 1000; s += EVERY_S) {
    for (const name of APPENDERS) expected.push(`${name}@${s}`);
  }
  assert.ok(expected.length >= 200, `only ${expected.length} runs in the window`);
  const missed = expected.filter((k) => !seen.has(k));
  const lines = runLines();
  const why = missed.slice(0, 5).map((k) => lines.find((l) => l.key === k) ?? { key: k, note: "no outcome logged" });
  assert.deepEqual(missed, [], `runs missed: ${JSON.stringify(why)}`);

  const lateness = lines.filter((l) => expected.includes(l.key)).map((l) => l.lateness_ms).sort((a, b) => a - b);
  const retried = lines.filter((l) => expected.includes(l.key) && l.attempts > 1).length;
  const byOrigin = {};
  for (const k of expected) {
    const o = log.find((e) => e.key === k).origin;
    byOrigin[o] = (byOrigin[o] ?? 0) + 1;
  }
  assert.ok(kills >= 10, `only ${kills} kills`);
  assert.ok(retried > 0, "no run had to be retried on another origin: the kills did not bite");
  console.log(
    `# jobs: ${expected.length} runs, ${kills} kills, ${retried} retried on another origin, duplicates 0, missed 0, ` +
      `median lateness ${lateness[Math.floor(lateness.length / 2)]} ms (max ${lateness.at(-1)}), by origin ${JSON.stringify(byOrigin)}`,
  );
});

test("the status page: token required (Basic for browsers), HTML with pools, origins and jobs", async () => {
  const denied = await w.request("/__edge/status");
  assert.equal(denied.status, 401);
  assert.match(denied.headers["www-authenticate"], /^Basic realm=/);
  const basic = await w.request("/__edge/status", { headers: { authorization: "Basic " + Buffer.from(`ops:${TOKEN}`).toString("base64") } });
  assert.equal(basic.status, 200);
  const wrong = await w.request("/__edge/status", { headers: { authorization: "Basic " + Buffer.from("ops:nope").toString("base64") } });
  assert.equal(wrong.status, 401);

  const r = await w.request("/__edge/status", { headers: bearer });
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^text\/html/);
  assert.equal(r.headers["cache-control"], "no-store");
  assert.match(r.headers["content-security-policy"], /default-src 'none'/);
  const html = r.body.toString();
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  for (const o of origins) assert.ok(html.includes(o.url.origin), o.url.origin);
  for (const name of [...APPENDERS, "slow", "broken"]) assert.ok(html.includes(`<h3>${name} `), name);
  assert.ok(html.includes("previous run still going"), "the slow job's skips are listed");
  assert.ok(html.includes("status 500"), "the failing job's reason is listed");
  assert.ok(!/<script/i.test(html));
});

test("the status page in headless Chromium: the browser's login answers the challenge, and the page is not blank", async (t) => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const anonymous = await (await browser.newContext()).newPage();
  // Without credentials the challenge goes unanswered (headless Chromium gives up on it).
  const refused = await anonymous.goto(new URL("/__edge/status", w.url).href).then((r) => r.status(), (e) => e.message);
  assert.match(String(refused), /^401$|ERR_INVALID_AUTH_CREDENTIALS/);

  const ctx = await browser.newContext({ httpCredentials: { username: "ops", password: TOKEN }, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const resp = await page.goto(new URL("/__edge/status", w.url).href);
  assert.equal(resp.status(), 200);
  assert.equal(await page.title(), "Edge status");
  const shot = await page.screenshot();
  // Let the browser decode its own screenshot (on a blank page: the status page's CSP allows no
  // images) and count what is not background.
  const blank = await ctx.newPage();
  const stats = await blank.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    for (let i = 0; i < d.length; i += 4) {
      const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    return { width: c.width, height: c.height, colors: counts.size, notBackground: 1 - top / (d.length / 4) };
  }, shot.toString("base64"));
  assert.equal(stats.width, 1280);
  assert.ok(stats.colors > 50, `only ${stats.colors} colours: ${JSON.stringify(stats)}`);
  assert.ok(stats.notBackground > 0.2, `mostly one colour: ${JSON.stringify(stats)}`);
});
