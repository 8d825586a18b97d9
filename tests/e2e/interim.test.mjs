// Origins that send interim responses (103 Early Hints, 102 Processing) before the final one.
// workerd's fetch hands the worker the first interim head as if it were the response; the worker
// asks again over a TCP socket and passes the final response on. Scripted raw-HTTP origins, the
// built worker in Miniflare.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import zlib from "node:zlib";
import { describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startRawOrigin, startWorker } from "./helpers.mjs";

const HINTS = "HTTP/1.1 103 Early Hints\r\nLink: </assets/app.css>; rel=preload; as=style\r\nLink: </assets/app.js>; rel=modulepreload\r\n\r\n";
const ok = (body, fields = "") => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${fields}Content-Length: ${Buffer.byteLength(body, "latin1")}\r\n\r\n${body}`;
/** One pool with the given origins, requests unsigned (raw origins cannot check signatures). */
const only = (origins, extra = {}) => poolsConfig({ dc1: origins.map((o) => ({ url: o.url.origin })) }, { extra: { origin_auth: false, ...extra } });

/**
 * A scripted origin that reads whole requests (head and Content-Length body) and records them:
 * `respond(request)` returns [bytes to write, whether to close after], so an origin can send an
 * interim head and then hang. Returns { url, seen, close }.
 */
async function startRecordingOrigin(respond) {
  const seen = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    socket.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [line, ...fields] = buf.subarray(0, end).toString("latin1").split("\r\n");
      const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(":")).toLowerCase(), f.slice(f.indexOf(":") + 1).trim()]));
      const length = Number(headers["content-length"] ?? 0);
      if (buf.length < end + 4 + length) return;
      const [method, path] = line.split(" ");
      const request = { line, method, path, headers, body: buf.subarray(end + 4, end + 4 + length).toString() };
      buf = Buffer.alloc(0);
      seen.push(request);
      const [out, close] = respond(request);
      socket.write(Buffer.from(out, "latin1"));
      if (close) socket.end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: new URL(`http://127.0.0.1:${server.address().port}`),
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

describe("interim responses", () => {
  test("103 Early Hints then 200: the client gets the final response with the 103's Link; later requests skip fetch", async () => {
    const lines = [];
    const origin = await startRawOrigin((line) => {
      lines.push(line);
      return HINTS + ok("the final body");
    });
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/page?x=1");
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "the final body");
      assert.equal(r.headers["content-type"], "text/plain");
      assert.equal(r.headers.link, "</assets/app.css>; rel=preload; as=style, </assets/app.js>; rel=modulepreload");
      assert.deepEqual(lines, ["GET /page?x=1 HTTP/1.1", "GET /page?x=1 HTTP/1.1"], "fetch, then the socket");
      const again = await w.request("/page?x=2");
      assert.equal(again.status, 200);
      assert.equal(again.body.toString(), "the final body");
      assert.equal(lines.length, 3, "the origin is known to send interim responses: the socket only");
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("a final response with a Link of its own keeps only its own", async () => {
    const origin = await startRawOrigin(() => HINTS + ok("x", "Link: </own.css>; rel=preload\r\n"));
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/");
      assert.equal(r.status, 200);
      assert.equal(r.headers.link, "</own.css>; rel=preload");
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("102 Processing then 200: the final response, no Link invented", async () => {
    const origin = await startRawOrigin(() => "HTTP/1.1 102 Processing\r\n\r\n" + ok("processed"));
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/slow");
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "processed");
      assert.equal(r.headers.link, undefined);
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("103 then a 200 whose reason phrase has a tab (RFC 9112 allows it; workerd refuses it): passed on with the usual phrase", async () => {
    const origin = await startRawOrigin(() => HINTS + ok("hinted").replace("200 OK", "200 Fine\tThanks"));
    const w = await startWorker({ edge: only([origin]) });
    try {
      for (let i = 0; i < 2; i++) {
        // The first through fetch and then the socket, the second over the socket directly.
        const r = await w.request("/hinted");
        assert.equal(r.status, 200);
        assert.equal(r.reason, "OK");
        assert.equal(r.body.toString(), "hinted");
      }
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("103 then a chunked 200 (extensions, trailers): the body arrives decoded", async () => {
    const chunked =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
      "4;ext=1\r\nWiki\r\n7\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-Sum: 42\r\n\r\n";
    const origin = await startRawOrigin(() => HINTS + chunked);
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/chunked");
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "Wikipedia in \r\nchunks.");
      assert.equal(r.headers["x-sum"], undefined, "trailers are not turned into header fields");
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("a gzip-coded final body is passed on as the origin coded it, not coded again", async () => {
    const text = "hello, compressed world\n".repeat(50);
    const gz = zlib.gzipSync(text).toString("latin1");
    const origin = await startRawOrigin(() => HINTS + ok(gz, "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"));
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/gz", { headers: { "accept-encoding": "gzip" } });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-encoding"], "gzip");
      assert.equal(zlib.gunzipSync(r.body).toString(), text, "one layer of gzip");
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("HEAD: the final head with its Content-Length, no body; hop-by-hop fields stay behind", async () => {
    const lines = [];
    const origin = await startRawOrigin((line) => {
      lines.push(line);
      return HINTS + "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\n";
    });
    const w = await startWorker({ edge: only([origin]) });
    try {
      const r = await w.request("/page", { method: "HEAD" });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/html");
      assert.equal(r.headers["content-length"], "1234", "as a GET would say");
      assert.equal(r.headers["x-hop"], undefined, "named in Connection");
      assert.equal(r.headers["keep-alive"], undefined);
      assert.equal(r.body.length, 0);
      assert.ok(r.headers.link?.includes("app.css"));
      assert.deepEqual(lines, ["HEAD /page HTTP/1.1", "HEAD /page HTTP/1.1"]);
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("a POST is never sent twice: the first gets 502; the next goes over the socket directly and succeeds", async () => {
    const origin = await startRecordingOrigin((req) => [HINTS + `HTTP/1.1 201 Created\r\nContent-Length: ${req.body.length + 9}\r\n\r\ncreated: ${req.body}`, true]);
    const w = await startWorker({ edge: only([origin]) });
    try {
      // With Content-Length, the edge buffers the body (it can be sent again, elsewhere).
      const post = (body, headers = { "content-length": String(body.length) }) =>
        w.request("/orders", { method: "POST", headers: { "content-type": "text/plain", ...headers }, body });
      const first = await post("order=1");
      assert.equal(first.status, 502);
      assert.deepEqual(origin.seen.map((s) => s.method), ["POST"], "not sent again");
      assert.ok(await w.logged((l) => l.includes("interim status 103") && l.includes("not idempotent")), w.log.join("\n"));
      const second = await post("order=2");
      assert.equal(second.status, 201, w.log.join("\n"));
      assert.equal(second.body.toString(), "created: order=2");
      assert.deepEqual(origin.seen.map((s) => s.body), ["order=1", "order=2"], "each POST reached the origin once");
      assert.equal(origin.seen[1].headers["content-length"], "7");
      assert.equal(origin.seen[1].headers.connection, "close");
      assert.equal(origin.seen[1].headers["content-type"], "text/plain");
      assert.ok(origin.seen[1].headers["x-forwarded-for"], "forwarding headers go over the socket too");
      const streamed = await post("order=3", { "transfer-encoding": "chunked" });
      assert.equal(streamed.status, 502, "a streamed body cannot go over the socket");
      assert.equal(origin.seen.length, 2, "and it was not sent");
      assert.ok(await w.logged((l) => l.includes("cannot send a streamed body")), w.log.join("\n"));
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("requests over the socket are signed afresh: a valid signature with a nonce of its own", async () => {
    const origin = await startRecordingOrigin(() => [HINTS + ok("signed"), true]);
    const w = await startWorker({ edge: only([origin], { origin_auth: true }), bindings: { EDGE_ORIGIN_KEY: ORIGIN_KEY } });
    try {
      const r = await w.request("/signed?q=1");
      assert.equal(r.status, 200);
      assert.equal(origin.seen.length, 2);
      const verify = (req) => {
        const [, t, n, sig] = /^v2;t=(\d+);n=([^;]+);sig=(.+)$/.exec(req.headers["x-edge-auth"]) ?? [];
        const h = req.headers;
        const signed = ["v2", t, n, req.method, h.host, req.path, ...["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded"].map((k) => h[k] ?? "")].join("\n");
        assert.equal(sig, crypto.createHmac("sha256", ORIGIN_KEY).update(signed).digest("base64url"), req.line);
        return n;
      };
      const [a, b] = origin.seen.map(verify);
      assert.notEqual(a, b, "a nonce is never used twice");
      assert.equal(origin.seen[1].headers.host, origin.url.host);
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("a remembered origin that is down: the socket's refusal sends even a POST elsewhere", async () => {
    const hints = await startRawOrigin(() => HINTS + ok("from the first"));
    const other = await startRawOrigin(() => "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nother");
    const w = await startWorker({ edge: poolsConfig({ dc1: [{ url: hints.url.origin }], dc2: [{ url: other.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      assert.equal((await w.request("/")).body.toString(), "from the first");
      await hints.close();
      const r = await w.request("/orders", { method: "POST", headers: { "content-length": "3" }, body: "abc" });
      assert.equal(r.status, 201);
      assert.equal(r.body.toString(), "other");
      assert.ok(await w.logged((l) => l.includes("cannot connect") && l.includes("counted as refused")), w.log.join("\n"));
    } finally {
      await w.dispose();
      await other.close();
    }
  });

  test("103 then nothing: the attempt times out, bounded by its timeout and the deadline", async () => {
    const origin = await startRecordingOrigin(() => [HINTS, false]);
    const w = await startWorker({ edge: only([origin], { attempt_timeout_ms: 800, deadline_ms: 2000, max_attempts: 2 }) });
    try {
      const t = Date.now();
      const r = await w.request("/hangs", { timeout: 10_000 });
      const took = Date.now() - t;
      assert.ok([502, 503, 504].includes(r.status), `status ${r.status}`);
      assert.ok(took >= 700, `took ${took} ms: the socket exchange waited for the final response`);
      assert.ok(took < 2600, `took ${took} ms with an 800 ms attempt timeout and a 2000 ms deadline`);
      assert.ok(await w.logged((l) => l.includes('"event":"proxy"') && l.includes('"path":"/hangs"')), w.log.join("\n"));
      // The isolate still serves (no timer of ours outlived its request).
      const again = await w.request("/hangs", { timeout: 10_000 });
      assert.ok([502, 503, 504].includes(again.status));
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test("an unreadable final response over the socket is a failure (502), named in the log", async () => {
    const origin = await startRawOrigin(() => HINTS + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    const w = await startWorker({ edge: only([origin], { max_attempts: 1 }) });
    try {
      const r = await w.request("/broken");
      assert.equal(r.status, 502);
      assert.ok(await w.logged((l) => l.includes("unreadable response") && l.includes("malformed chunk-size line")), w.log.join("\n"));
    } finally {
      await w.dispose();
      await origin.close();
    }
  });
});
