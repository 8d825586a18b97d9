// RFC 9842 in a real browser: headless Chromium (Debian's, driven by playwright-core) loads a
// page of deploy 1 through the built worker in Miniflare, then — the same origin, now serving
// deploy 2 built with deploy 1's history — the page of deploy 2. Chromium keeps deploy 1's
// app.js as a dictionary (its response carried Use-As-Dictionary), names it in
// Available-Dictionary, and gets app.js of deploy 2 as a delta (Content-Encoding: dcz, then dcb
// in a second run), which it decodes to exactly deploy 2's bytes and runs.
//
// Needs /usr/bin/chromium (Debian's, `make setup` installs it) and playwright-core (package.json);
// skipped, saying so, when Chromium is missing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { freePort, ROOT, startWorker } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const BUILDER = path.join(ROOT, "target/release/asset-builder");
const missing = fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "browser-dict-"));
const SRC = path.join(tmp, "src");

function appJs(n) {
  const lines = Array.from({ length: 80 }, (_, i) => `export const feature${i} = () => "feature ${i} of the shop";`).join("\n");
  return `${lines}\nglobalThis.__deploy = ${n};\ndocument.title = "deploy ${n}";\n`;
}

/** Builds deploy `n` into `out` (deploy 2 with the history of `history`). */
function build(n, out, extra = []) {
  fs.writeFileSync(path.join(SRC, "js/app.js"), appJs(n));
  const r = spawnSync(BUILDER, ["build", SRC, "--out", out, "--quiet", "--deploy-id", `d${n}`, ...extra], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
}

let origin;
let page = "";

before(async () => {
  if (missing) return;
  fs.mkdirSync(path.join(SRC, "js"), { recursive: true });
  // The page: what an origin renders for the current deploy (the edge proxies it).
  origin = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(page);
  });
  await new Promise((r) => origin.listen(0, "127.0.0.1", r));
});
after(async () => {
  await new Promise((r) => (origin ? origin.close(r) : r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const coding of ["dcz", "dcb"]) {
  test(`Chromium gets deploy 2's app.js as a ${coding} delta against deploy 1's and runs it`, { skip: missing ?? false }, async () => {
    const out1 = path.join(tmp, `${coding}-d1`);
    const out2 = path.join(tmp, `${coding}-d2`);
    const d1 = build(1, out1);
    fs.cpSync(out1, out2, { recursive: true });
    const d2 = build(2, out2, ["--history", out2, "--delta-codings", coding]);
    const port = await freePort();
    const edge = {
      public_path: "/assets/",
      origin_auth: false,
      pools: { main: { origins: [{ url: `http://127.0.0.1:${origin.address().port}` }] } },
      routes: [{ pools: ["main"] }],
    };
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext();
    let w;
    /** Loads the page and returns what Chromium saw of `script`: headers both ways, body. */
    const load = async (tab, n, script, query = "") => {
      page = `<!doctype html><title>page</title><script type="module" src="${script}"></script>`;
      const [resp] = await Promise.all([
        tab.waitForResponse((r) => new URL(r.url()).pathname === script),
        tab.goto(`http://127.0.0.1:${port}/${query}`),
      ]);
      await tab.waitForFunction((n) => globalThis.__deploy === n, n);
      return { request: await resp.request().allHeaders(), headers: await resp.allHeaders(), body: await resp.body() };
    };
    try {
      const tab = await context.newPage();
      // Deploy 1.
      w = await startWorker({ edge, assets: out1, port });
      const first = await load(tab, 1, d1["js/app.js"]);
      assert.equal(first.headers["use-as-dictionary"], 'match="/assets/js/app-*.js", match-dest=("script")');
      assert.equal(first.request["available-dictionary"], undefined);
      // Miniflare's front re-encodes a br or gzip response into the first of those the client
      // lists (Chromium: gzip); a dcz/dcb body it passes through as is.
      assert.ok(["gzip", "br"].includes(first.headers["content-encoding"]), first.headers["content-encoding"]);
      await w.dispose();
      w = null;

      // Deploy 2, same origin.
      w = await startWorker({ edge, assets: out2, port });
      const second = await load(tab, 2, d2["js/app.js"]);
      assert.equal(typeof second.request["available-dictionary"], "string", `no Available-Dictionary: ${JSON.stringify(second.request)}`);
      assert.match(second.request["accept-encoding"], new RegExp(`\\b${coding}\\b`));
      assert.equal(second.headers["content-encoding"], coding, JSON.stringify(second.headers));
      assert.equal(second.headers.vary, "Accept-Encoding, Available-Dictionary");
      // Decoded by Chromium to exactly deploy 2's bytes.
      assert.deepEqual(second.body, fs.readFileSync(path.join(out2, d2["js/app.js"])));
    } finally {
      await w?.dispose();
      await context.close();
      await browser.close();
    }
  });
}
