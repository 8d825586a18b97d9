// Deploys that never break a page: three builds of www/assets (app.js changed each time), each
// with the previous deploys' history — deploy 2 reads it from deploy 1's live edge (the built
// worker in Miniflare, at its well-known path), deploy 3 from the output directory — served by
// the built worker, checked on the wire. Then RFC 9842 deltas: dcz decoded with the reference
// zstd (the zstd CLI, --patch-from = the dictionary) to exactly the new version; a wrong
// Available-Dictionary gets plain br. Then deploy 4 with --keep-deploys 3: deploy 1 falls out.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, describe, test } from "node:test";
import { ROOT, startWorker } from "./helpers.mjs";

const BUILDER = path.join(ROOT, "target/release/asset-builder");
const EDGE = { public_path: "/assets/", not_found_page: "/assets/errors/404.html" };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deploys-"));
const SRC = path.join(tmp, "src");
const OUT = path.join(tmp, "out");

/** app.js of deploy `n`: the demo's script with a version line (large enough for deltas). */
function appJs(n) {
  const base = fs.readFileSync(path.join(ROOT, "www/assets/js/app.js"), "utf8");
  const filler = Array.from({ length: 60 }, (_, i) => `export const feature${i} = () => "feature ${i} of the shop";`).join("\n");
  return `${base}\n${filler}\nexport const DEPLOY = ${n};\n`;
}

/** Runs asset-builder; returns { status, stderr }. */
function buildDeploy(n, history, extra = []) {
  fs.writeFileSync(path.join(SRC, "js/app.js"), appJs(n));
  const args = ["build", SRC, "--out", OUT, "--quiet", "--no-fingerprint", "errors/**", "--deploy-id", `d${n}`, "--keep-deploys", "3", ...extra];
  if (history) args.push("--history", history);
  const r = spawnSync(BUILDER, args, { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

const manifests = () => ({
  symfony: JSON.parse(fs.readFileSync(path.join(OUT, "manifest.json"), "utf8")),
  cdn: JSON.parse(fs.readFileSync(path.join(OUT, "cdn-manifest.json"), "utf8")),
});
const fileOf = (dir, url) => fs.readFileSync(path.join(dir, url));
const sha256 = (b) => crypto.createHash("sha256").update(b).digest();
const dictionaryHeader = (bytes) => `:${sha256(bytes).toString("base64")}:`;

const deploys = {}; // n → { symfony, cdn, dir (a copy of OUT right after the build) }
let w;

function snapshot(n) {
  const dir = path.join(tmp, `deploy-${n}`);
  fs.cpSync(OUT, dir, { recursive: true });
  deploys[n] = { ...manifests(), dir };
}

before(async () => {
  fs.cpSync(path.join(ROOT, "www/assets"), SRC, { recursive: true });
  let r = buildDeploy(1, OUT, ["--history-optional"]);
  assert.equal(r.status, 0, r.stderr);
  snapshot(1);
  // Deploy 2 reads the history from deploy 1's live edge.
  const live = await startWorker({ edge: EDGE, assets: deploys[1].dir });
  try {
    r = buildDeploy(2, live.url.origin);
  } finally {
    await live.dispose();
  }
  assert.equal(r.status, 0, r.stderr);
  snapshot(2);
  r = buildDeploy(3, OUT);
  assert.equal(r.status, 0, r.stderr);
  snapshot(3);
  w = await startWorker({ edge: EDGE, assets: OUT });
});
after(async () => {
  await w?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("history", () => {
  test("every asset of deploy 1's pages is still served, byte for byte, after deploy 3", async () => {
    const { symfony } = deploys[1];
    assert.notEqual(symfony["js/app.js"], deploys[3].symfony["js/app.js"]);
    for (const [logical, url] of Object.entries(symfony)) {
      const r = await w.request(url);
      assert.equal(r.status, 200, `${logical} ${url}`);
      assert.deepEqual(r.body, fileOf(deploys[1].dir, url), url);
      assert.match(r.headers["cache-control"], logical.startsWith("errors/") ? /no-cache/ : /immutable/, url);
    }
  });

  test("Symfony's manifest lists only the current deploy; the edge's lists every kept entry with its deploy", () => {
    const { symfony, cdn } = deploys[3];
    assert.deepEqual(Object.keys(symfony).sort(), Object.keys(deploys[1].symfony).sort());
    const apps = Object.entries(cdn.entries).filter(([, e]) => e.logical_path === "js/app.js");
    assert.deepEqual(apps.map(([, e]) => e.deploy).sort(), ["d1", "d2", "d3"]);
    assert.equal(cdn.entries[symfony["css/app.css"]].deploy, "d3", "unchanged files belong to the newest deploy");
    const history = JSON.parse(fs.readFileSync(path.join(OUT, "asset-history.json"), "utf8"));
    assert.deepEqual(history.deploys.map((d) => d.id), ["d3", "d2", "d1"]);
    for (const d of history.deploys) {
      assert.match(d.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(d.files > 20 && d.bytes > 1000, JSON.stringify({ ...d, entries: d.entries.length }));
    }
  });

  test("the edge serves the history at its well-known path, stored bytes exactly", async () => {
    const h = await w.request("/.well-known/asset-history/history.json");
    assert.equal(h.status, 200);
    assert.equal(h.headers["content-type"], "application/json");
    assert.match(h.headers["cache-control"], /no-store/);
    assert.deepEqual(h.body, fs.readFileSync(path.join(OUT, "asset-history.json")));
    const app = deploys[1].symfony["js/app.js"];
    for (const stored of [app, `${app}.br`, `${app}.gz`]) {
      const r = await w.request(`/.well-known/asset-history/files${stored}`, { headers: { "accept-encoding": "br, gzip" } });
      assert.equal(r.status, 200, stored);
      assert.equal(r.headers["content-encoding"], undefined, stored);
      assert.equal(r.headers["content-type"], "application/octet-stream");
      assert.deepEqual(r.body, fileOf(OUT, stored), stored);
    }
    const head = await w.request(`/.well-known/asset-history/files${app}.br`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal((await w.request("/.well-known/asset-history/files/assets/js/nope.js", { method: "HEAD" })).status, 404);
    for (const p of ["/.well-known/asset-history/files/assets/js/nope.js", "/.well-known/asset-history/files/cdn-manifest.bin", "/.well-known/asset-history/other"]) {
      assert.equal((await w.request(p)).status, 404, p);
    }
    assert.equal((await w.request("/.well-known/asset-history/history.json", { method: "POST" })).status, 405);
  });

  test("a history whose file does not match its SHA-256 is refused, naming the file", async () => {
    const bad = path.join(tmp, "bad");
    fs.cpSync(deploys[3].dir, bad, { recursive: true });
    const app = deploys[1].symfony["js/app.js"];
    const bytes = fileOf(bad, app);
    bytes[bytes.length - 3] ^= 1; // same size, other bytes
    fs.writeFileSync(path.join(bad, app), bytes);
    const live = await startWorker({ edge: EDGE, assets: bad });
    try {
      const out = path.join(tmp, "never");
      const r = spawnSync(BUILDER, ["build", SRC, "--out", out, "--quiet", "--history", live.url.origin], { encoding: "utf8" });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^asset-builder: error: deploy history file http:\/\/127\.0\.0\.1:\d+\/\.well-known\/asset-history\/files\/assets\/js\/app-[0-9a-f]{16}\.js: SHA-256 is [0-9a-f]{64}, the history records [0-9a-f]{64}/);
      assert.ok(!fs.existsSync(out), "nothing written");
    } finally {
      await live.dispose();
    }
  });
});

describe("deltas (RFC 9842)", () => {
  const v3 = () => deploys[3].symfony["js/app.js"];
  const v2 = () => Object.entries(deploys[3].cdn.entries).find(([, e]) => e.logical_path === "js/app.js" && e.deploy === "d2")[0];

  test("responses make the file a dictionary for the later versions of its path", async () => {
    for (const url of [deploys[1].symfony["js/app.js"], v3()]) {
      const r = await w.request(url, { headers: { "accept-encoding": "br" } });
      assert.equal(r.status, 200);
      assert.equal(r.headers["use-as-dictionary"], 'match="/assets/js/app-*.js", match-dest=("script")', url);
    }
    // The pattern matches every version (URLPattern's `*`), and no other file.
    const pattern = /^\/assets\/js\/app-.*\.js$/;
    for (const [url, e] of Object.entries(deploys[3].cdn.entries)) {
      assert.equal(pattern.test(url), e.logical_path === "js/app.js", url);
    }
  });

  test("a dcz response decompresses, with the dictionary, to exactly the new version", async () => {
    const dict = fileOf(OUT, v2());
    const entry = deploys[3].cdn.entries[v3()];
    const delta = entry.deltas.find((d) => d.encoding === "dcz" && d.dictionary === sha256(dict).toString("hex"));
    assert.ok(delta, JSON.stringify(entry.deltas));
    // A browser's Accept-Encoding: the smaller of the two deltas.
    const smaller = entry.deltas.filter((d) => d.dictionary === delta.dictionary).sort((a, b) => a.size - b.size)[0];
    const browser = await w.request(v3(), { headers: { "accept-encoding": "gzip, deflate, br, zstd, dcb, dcz", "available-dictionary": dictionaryHeader(dict) } });
    assert.equal(browser.headers["content-encoding"], smaller.encoding);
    assert.equal(browser.headers.etag, smaller.etag);
    // Miniflare's front passes a dcz body through (it re-encodes only into gzip and br).
    const r = await w.request(v3(), { headers: { "accept-encoding": "gzip, deflate, br, zstd, dcz", "available-dictionary": dictionaryHeader(dict) } });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-encoding"], "dcz");
    assert.equal(r.headers.vary, "Accept-Encoding, Available-Dictionary");
    assert.equal(r.headers.etag, delta.etag);
    assert.equal(r.headers["content-length"], String(delta.size));
    assert.ok(delta.size * 4 < entry.encodings.br.size, `${delta.size} vs br ${entry.encodings.br.size}`);
    // The RFC's header: the magic, then the dictionary's SHA-256; the reference decoder skips it
    // (a skippable frame) and decodes the frame with the dictionary as a raw prefix.
    assert.deepEqual(r.body.subarray(0, 8), Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 0x20, 0, 0, 0]));
    assert.deepEqual(r.body.subarray(8, 40), sha256(dict));
    const dictFile = path.join(tmp, "dictionary");
    fs.writeFileSync(dictFile, dict);
    const decoded = execFileSync("zstd", ["-d", "-q", "-c", `--patch-from=${dictFile}`], { input: r.body });
    assert.deepEqual(decoded, fileOf(OUT, v3()));
    // A dcb body (when only dcb is accepted) is the stored one, with its own header.
    const dcb = await w.request(v3(), { headers: { "accept-encoding": "dcb", "available-dictionary": dictionaryHeader(dict) } });
    assert.equal(dcb.headers["content-encoding"], "dcb");
    assert.deepEqual(dcb.body.subarray(0, 4), Buffer.from([0xff, 0x44, 0x43, 0x42]));
    const stored = `${v3()}.${sha256(dict).toString("hex").slice(0, 16)}.dcb`;
    assert.deepEqual(dcb.body, fileOf(OUT, stored));
    // Against deploy 1's version too (K = 2).
    const d1 = fileOf(OUT, deploys[1].symfony["js/app.js"]);
    const older = await w.request(v3(), { headers: { "accept-encoding": "dcz", "available-dictionary": dictionaryHeader(d1) } });
    assert.equal(older.headers["content-encoding"], "dcz");
    fs.writeFileSync(dictFile, d1);
    assert.deepEqual(execFileSync("zstd", ["-d", "-q", "-c", `--patch-from=${dictFile}`], { input: older.body }), fileOf(OUT, v3()));
  });

  test("a wrong Available-Dictionary gets plain br", async () => {
    for (const dict of [dictionaryHeader(Buffer.from("not a version of app.js")), "garbage", ""]) {
      const r = await w.request(v3(), { headers: { "accept-encoding": "br, dcz, dcb", "available-dictionary": dict } });
      assert.equal(r.status, 200, dict);
      assert.equal(r.headers["content-encoding"], "br", dict);
      assert.equal(r.headers.vary, "Accept-Encoding, Available-Dictionary");
      assert.deepEqual(zlib.brotliDecompressSync(r.body), fileOf(OUT, v3()));
    }
  });

  test("a conditional request with the delta's validator is 304", async () => {
    const dict = fileOf(OUT, v2());
    const h = { "accept-encoding": "dcz", "available-dictionary": dictionaryHeader(dict) };
    const first = await w.request(v3(), { headers: h });
    const again = await w.request(v3(), { headers: { ...h, "if-none-match": first.headers.etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(again.headers["use-as-dictionary"], first.headers["use-as-dictionary"]);
  });
});

describe("keep-deploys", () => {
  test("deploy 4 with --keep-deploys 3: deploy 1's own files are 404, deploy 2's still 200", async () => {
    const r = buildDeploy(4, OUT);
    assert.equal(r.status, 0, r.stderr);
    const w4 = await startWorker({ edge: EDGE, assets: OUT });
    try {
      const gone = deploys[1].symfony["js/app.js"];
      const g = await w4.request(gone);
      assert.equal(g.status, 404);
      assert.ok(!fs.existsSync(path.join(OUT, gone)));
      const v2 = Object.entries(deploys[3].cdn.entries).find(([, e]) => e.logical_path === "js/app.js" && e.deploy === "d2")[0];
      assert.equal((await w4.request(v2)).status, 200);
      // Shared files stay.
      assert.equal((await w4.request(deploys[1].symfony["css/app.css"])).status, 200);
      const history = JSON.parse(fs.readFileSync(path.join(OUT, "asset-history.json"), "utf8"));
      assert.deepEqual(history.deploys.map((d) => d.id), ["d4", "d3", "d2"]);
    } finally {
      await w4.dispose();
    }
  });
});
