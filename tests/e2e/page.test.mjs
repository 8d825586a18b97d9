// The demo page end to end: a real Symfony origin (php -S) behind the built worker. The page
// comes from the origin through the worker; every asset it references comes from the worker.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fs from "node:fs";
import path from "node:path";
import { ORIGIN_KEY, poolsConfig, startOrigin, startWorker, WWW_BUILD } from "./helpers.mjs";

let origin;
let w;
before(async () => {
  origin = await startOrigin({ name: "origin-1" });
  w = await startWorker({ edge: poolsConfig({ main: [origin] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
});
after(async () => {
  await w?.dispose();
  await origin?.stop();
});

test("the page is passed through from the origin and its assets are served by the edge", async () => {
  const page = await w.request("/", { headers: { "accept-encoding": "identity" } });
  assert.equal(page.status, 200);
  const html = page.body.toString();
  assert.match(html, /<dd data-origin>origin-1<\/dd>/);
  const urls = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(urls.length >= 5, urls.join(" "));
  for (const u of new Set(urls)) {
    const r = await w.request(u, { headers: { "accept-encoding": "br" } });
    assert.equal(r.status, 200, u);
    assert.match(r.headers["cache-control"], /immutable/, u);
  }
});

test("method, path, query and body reach the origin; hop-by-hop headers do not", async () => {
  const r = await w.request("/whoami?x=1&y=%20", {
    method: "POST",
    headers: { connection: "keep-alive, x-hop", "x-hop": "1", "x-end-to-end": "kept", "content-type": "text/plain" },
    body: "hello",
  });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body);
  assert.equal(seen.method, "POST");
  assert.equal(seen.uri, "/whoami?x=1&y=%20");
  assert.equal(seen.headers["x-end-to-end"], "kept");
  assert.equal(seen.headers["x-hop"], undefined, "headers named in Connection are hop-by-hop");
  const missing = await w.request("/no-such-page");
  assert.equal(missing.status, 404, "the origin's own 404 passes through");
});

test("an origin that is down gives a clear 503 with Retry-After, not a hang or a crash", async () => {
  const dead = await startWorker({
    edge: poolsConfig({ main: [{ url: "http://127.0.0.1:9" }] }),
    bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY },
  });
  try {
    const r = await dead.request("/");
    assert.equal(r.status, 503, "the only origin is down: nothing left to try");
    assert.equal(r.headers["retry-after"], "10");
    assert.match(r.body.toString(), /every origin is down/);
  } finally {
    await dead.dispose();
  }
});

test("HTTP requests are redirected to HTTPS (308) and HTTPS responses carry HSTS, when configured", async () => {
  const edge = poolsConfig({ main: [origin] }, { extra: { https_redirect: true, hsts: "max-age=63072000; includeSubDomains" } });
  const secure = await startWorker({ edge, bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
  try {
    const plain = await secure.mf.dispatchFetch("http://shop.test/about?x=1", { redirect: "manual", method: "POST", headers: { "cf-connecting-ip": "192.0.2.1" } });
    assert.equal(plain.status, 308, "308 keeps the method and body");
    assert.equal(plain.headers.get("location"), "https://shop.test/about?x=1");
    const tls = await secure.mf.dispatchFetch("https://shop.test/about", { headers: { "cf-connecting-ip": "192.0.2.1" } });
    assert.equal(tls.status, 200);
    assert.equal(tls.headers.get("strict-transport-security"), "max-age=63072000; includeSubDomains");
    await tls.arrayBuffer();
  } finally {
    await secure.dispose();
  }
});

test("concurrent first requests of a cold isolate all succeed, and the manifest is loaded once", async () => {
  const cold = await startWorker({ edge: poolsConfig({ main: [origin] }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
  try {
    const css = JSON.parse(fs.readFileSync(path.join(WWW_BUILD, "manifest.json")))["css/app.css"];
    const paths = [css, "/", css, "/about", css, "/orders", css, "/"];
    const results = await Promise.all(paths.map((p) => cold.request(p)));
    assert.deepEqual(results.map((r) => r.status), paths.map(() => 200));
    await cold.logged((l) => l.includes('"event":"manifest"'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cold.log.filter((l) => l.includes('"event":"manifest"')).length, 1, cold.log.join("\n"));
  } finally {
    await cold.dispose();
  }
});
