// The built worker in Miniflare (workerd) serving the builder's real output of www/assets,
// checked on the wire: status, headers and bodies byte-for-byte.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, describe, test } from "node:test";
import { manifests, startWorker, WWW_BUILD } from "./helpers.mjs";

const { symfony, cdn } = manifests();
const CSS = symfony["css/app.css"];
const CSS_ENTRY = cdn.entries[CSS];
const CSS_BYTES = fs.readFileSync(path.join(WWW_BUILD, CSS));
const NOT_FOUND_PAGE = "/assets/errors/404.html";
const IMMUTABLE = "public, max-age=31536000, immutable, no-transform";

// Miniflare emulates Cloudflare's front line: the worker sees `Accept-Encoding: br, gzip` (the
// client's value is in request.cf.clientAcceptEncoding, which the worker negotiates on), and on
// the way out the emulator re-encodes compressible responses into the *first* coding the client
// lists, ignoring `no-transform`. Production passes an acceptable Content-Encoding through. So on
// the wire these tests list the coding the worker should pick first, and send ranges without
// Accept-Encoding; the full negotiation rules are unit-tested in edge-worker/src/assets/.

let w;
before(async () => {
  w = await startWorker({ edge: { public_path: "/assets/", not_found_page: NOT_FOUND_PAGE } });
});
after(() => w?.dispose());

const decode = { br: (b) => zlib.brotliDecompressSync(b), gzip: (b) => zlib.gunzipSync(b) };
const suffix = { br: ".br", gzip: ".gz" };

describe("representations", () => {
  test("every published file is served byte-for-byte, identity and each precompressed sibling", async () => {
    let siblings = 0;
    for (const [p, e] of Object.entries(cdn.entries)) {
      const file = fs.readFileSync(path.join(WWW_BUILD, p));
      const plain = await w.request(p);
      assert.equal(plain.status, 200, p);
      assert.deepEqual(plain.body, file, p);
      assert.equal(plain.headers["content-length"], String(file.length), p);
      assert.equal(plain.headers["content-type"], e.content_type, p);
      assert.equal(plain.headers["content-encoding"], undefined, p);
      assert.equal(plain.headers.etag, e.etag, p);
      for (const [enc, rep] of Object.entries(e.encodings ?? {})) {
        const r = await w.request(p, { headers: { "accept-encoding": enc } });
        assert.equal(r.status, 200, `${p} ${enc}`);
        assert.equal(r.headers["content-encoding"], enc, `${p} ${enc}`);
        assert.equal(r.headers["content-length"], String(rep.size), `${p} ${enc}`);
        assert.equal(r.headers.etag, rep.etag, `${p} ${enc}`);
        assert.deepEqual(r.body, fs.readFileSync(path.join(WWW_BUILD, p + suffix[enc])), `${p} ${enc} passed through untouched`);
        assert.deepEqual(decode[enc](r.body), file, `${p} ${enc} decodes to the published bytes`);
        siblings++;
      }
    }
    assert.ok(siblings >= 10, `precompressed siblings exercised: ${siblings}`);
  });

  test("Accept-Encoding q-values decide, br preferred on ties", async () => {
    const cases = [
      ["br, gzip, deflate", "br"],
      ["gzip;q=1, br;q=0.5", "gzip"],
      ["br;q=0.5, gzip;q=0.5", "br"],
      ["br;q=0, gzip", "gzip"],
      ["br;q=0, gzip;q=0", undefined],
      ["identity;q=0, gzip", "gzip"],
      ["deflate", undefined],
    ];
    for (const [ae, want] of cases) {
      const r = await w.request(CSS, { headers: { "accept-encoding": ae } });
      assert.equal(r.status, 200, ae);
      assert.equal(r.headers["content-encoding"], want, ae);
      assert.equal(r.headers.vary, "Accept-Encoding", ae);
      const body = want ? decode[want](r.body) : r.body;
      assert.deepEqual(body, CSS_BYTES, ae);
    }
  });

  test("HEAD sends the headers of GET, Content-Length included, and no body", async () => {
    const h = { "accept-encoding": "br" };
    const get = await w.request(CSS, { headers: h });
    const head = await w.request(CSS, { method: "HEAD", headers: h });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const name of ["content-length", "content-type", "content-encoding", "etag", "cache-control", "vary", "accept-ranges"]) {
      assert.equal(head.headers[name], get.headers[name], name);
    }
    assert.equal(head.headers["content-length"], String(CSS_ENTRY.encodings.br.size));
  });
});

describe("validators", () => {
  test("If-None-Match with lists, weak comparison and * gives 304 with the required headers", async () => {
    const br = CSS_ENTRY.encodings.br.etag;
    for (const inm of [br, `"nope", ${br}`, `W/${br}`, "*"]) {
      const r = await w.request(CSS, { headers: { "accept-encoding": "br", "if-none-match": inm } });
      assert.equal(r.status, 304, inm);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, br);
      assert.equal(r.headers["cache-control"], IMMUTABLE);
      assert.equal(r.headers.vary, "Accept-Encoding");
    }
    // Each representation has its own validator: the identity tag does not match brotli.
    const r = await w.request(CSS, { headers: { "accept-encoding": "br", "if-none-match": CSS_ENTRY.etag } });
    assert.equal(r.status, 200);
    const id = await w.request(CSS, { headers: { "if-none-match": CSS_ENTRY.etag } });
    assert.equal(id.status, 304);
  });

  test("If-Match that fails is 412", async () => {
    const r = await w.request(CSS, { headers: { "if-match": '"other"' } });
    assert.equal(r.status, 412);
  });
});

describe("ranges", () => {
  test("single ranges give 206 with Content-Range and the exact slice of the identity bytes", async () => {
    const len = CSS_BYTES.length;
    const cases = [
      ["bytes=0-9", 0, 10],
      [`bytes=${len - 5}-`, len - 5, len],
      ["bytes=-7", len - 7, len],
      [`bytes=10-${len + 100}`, 10, len],
    ];
    for (const [range, start, end] of cases) {
      const r = await w.request(CSS, { headers: { range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers["content-range"], `bytes ${start}-${end - 1}/${len}`, range);
      assert.equal(r.headers["content-length"], String(end - start), range);
      assert.equal(r.headers["content-encoding"], undefined, range);
      assert.deepEqual(r.body, CSS_BYTES.subarray(start, end), range);
    }
  });

  test("unsatisfiable ranges give 416 with bytes */length", async () => {
    const r = await w.request(CSS, { headers: { range: `bytes=${CSS_BYTES.length}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers["content-range"], `bytes */${CSS_BYTES.length}`);
  });

  test("If-Range, several ranges and malformed ranges", async () => {
    const ok = await w.request(CSS, { headers: { range: "bytes=0-3", "if-range": CSS_ENTRY.etag } });
    assert.equal(ok.status, 206);
    assert.deepEqual(ok.body, CSS_BYTES.subarray(0, 4));
    for (const headers of [
      { range: "bytes=0-3", "if-range": '"stale"' },
      { range: "bytes=0-3,10-20" },
      { range: "bytes=5-1" },
      { range: "lines=1-2" },
    ]) {
      const r = await w.request(CSS, { headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
      assert.deepEqual(r.body, CSS_BYTES, JSON.stringify(headers));
    }
  });
});

describe("caching, methods, CORS", () => {
  test("fingerprinted files are immutable, others revalidate; nosniff and CORS everywhere", async () => {
    const r = await w.request(CSS);
    assert.equal(r.headers["cache-control"], IMMUTABLE);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.equal(r.headers["accept-ranges"], "bytes");
    const font = await w.request(symfony["fonts/edge-blocks.woff"]);
    assert.equal(font.headers["access-control-allow-origin"], "*");
    assert.equal(font.headers["content-type"], "font/woff");
    const page = await w.request(NOT_FOUND_PAGE);
    assert.equal(page.status, 200);
    assert.equal(page.headers["cache-control"], "public, no-cache, no-transform");
  });

  test("methods other than GET and HEAD get 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await w.request(CSS, { method, body: "x" });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, "GET, HEAD", method);
    }
  });

  test("listed CORS origins are echoed, others get none", async () => {
    const cw = await startWorker({ edge: { cors_allow_origins: ["https://shop.test"] } });
    try {
      const yes = await cw.request(CSS, { headers: { origin: "https://shop.test" } });
      assert.equal(yes.headers["access-control-allow-origin"], "https://shop.test");
      assert.match(yes.headers.vary, /Origin/);
      const no = await cw.request(CSS, { headers: { origin: "https://evil.test" } });
      assert.equal(no.headers["access-control-allow-origin"], undefined);
    } finally {
      await cw.dispose();
    }
  });
});

describe("paths", () => {
  test("unknown asset paths get the configured 404 page", async () => {
    const r = await w.request("/assets/css/app-0000000000000000.css");
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /Asset not found/);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  });

  test("hostile paths never reach a file outside the manifest", async () => {
    const secrets = ["cdn-manifest.json", "cdn-manifest.bin", "manifest.json"].map((f) => fs.readFileSync(path.join(WWW_BUILD, f)));
    const hostile = [
      "/assets/../cdn-manifest.json",
      "/assets/%2e%2e/cdn-manifest.json",
      "/assets/..%2fcdn-manifest.json",
      "/assets/..%2Fmanifest.json",
      "/assets/%2e%2e%2fcdn-manifest.bin",
      "/assets/..\\cdn-manifest.json",
      "/assets/..%5ccdn-manifest.json",
      "/assets/%00../cdn-manifest.json",
      "/assets/css/app.css%00.map",
      "/assets/%c0%ae%c0%ae/cdn-manifest.json",
      "/assets/%e0%80%ae%e0%80%ae/cdn-manifest.json",
      "/assets//cdn-manifest.json",
      "/assets/./cdn-manifest.json",
      "/assets/%ff",
      "/assets/%zz",
      "/cdn-manifest.json",
      "/cdn-manifest.bin",
      "/manifest.json",
      "/assets/" + "a".repeat(4000),
    ];
    for (const p of hostile) {
      const r = await w.request(p);
      assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
      for (const s of secrets) assert.ok(!r.body.equals(s), `${p} leaked a manifest`);
    }
    const bad = await w.request("/assets/..%2fcdn-manifest.json");
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /encoded slash/);
  });

  test("percent-encoded names resolve to the same file", async () => {
    const encoded = CSS.replace("app-", "%61pp-");
    const r = await w.request(encoded);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, CSS_BYTES);
  });
});

describe("configuration and manifest errors", () => {
  test("a wrong config key is a 500 whose log line names it", async () => {
    const bad = await startWorker({ edge: { public_path: "/assets/", cors_allow_origin: ["*"] } });
    try {
      const r = await bad.request(CSS);
      assert.equal(r.status, 500);
      assert.match(r.body.toString(), /misconfigured/);
      assert.ok(await bad.logged((l) => l.includes("EDGE.cors_allow_origin")), bad.log.join("\n"));
    } finally {
      await bad.dispose();
    }
  });

  test("a missing or malformed manifest is a 500 whose log says why, never a crash", async () => {
    const dir = fs.mkdtempSync(path.join("/tmp", "edge-assets-"));
    try {
      fs.cpSync(WWW_BUILD, dir, { recursive: true });
      fs.rmSync(path.join(dir, "cdn-manifest.bin"));
      let bad = await startWorker({ assets: dir });
      try {
        const r = await bad.request(CSS);
        assert.equal(r.status, 500);
        assert.ok(await bad.logged((l) => l.includes("cdn-manifest.bin") && l.includes("not in the assets directory")), bad.log.join("\n"));
      } finally {
        await bad.dispose();
      }
      fs.writeFileSync(path.join(dir, "cdn-manifest.bin"), Buffer.from("CDNMROOT\x07\0\0\0garbage"));
      bad = await startWorker({ assets: dir });
      try {
        const r = await bad.request(CSS);
        assert.equal(r.status, 500);
        assert.ok(await bad.logged((l) => l.includes("cdn-manifest.bin") && l.includes("format version 7")), bad.log.join("\n"));
        // The isolate keeps answering (and keeps saying why).
        assert.equal((await bad.request(CSS)).status, 500);
      } finally {
        await bad.dispose();
      }
      // A root whose shard is missing: the lookup fails clearly.
      fs.copyFileSync(path.join(WWW_BUILD, "cdn-manifest.bin"), path.join(dir, "cdn-manifest.bin"));
      fs.rmSync(path.join(dir, "cdn-manifest-0.bin"));
      bad = await startWorker({ assets: dir });
      try {
        const r = await bad.request(CSS);
        assert.equal(r.status, 500);
        assert.ok(await bad.logged((l) => l.includes("cdn-manifest-0.bin") && l.includes("not in the assets directory")), bad.log.join("\n"));
      } finally {
        await bad.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
