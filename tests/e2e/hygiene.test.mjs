// Hiding the origins: no response through the edge reveals an origin's address, software or
// debugging tools; redirects built from an origin's own address reach the client with the
// public host; when the edge answers itself, browsers get the build's error pages and
// everything else one line of text. Real Symfony origins (php -S) and a scripted raw origin.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startRawOrigin, startWorker } from "./helpers.mjs";

const SECRETS = { EDGE_ORIGIN_KEY: ORIGIN_KEY };
const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const PAGES = { error_pages: { 404: "/assets/errors/404.html", 503: "/assets/errors/503.html", 500: "/assets/errors/5xx.html" } };
const REVEALING = ["host", "x-powered-by", "x-debug-token", "x-debug-token-link", "server"];

function assertHidden(headers, what) {
  for (const h of REVEALING) assert.equal(headers.get ? headers.get(h) : headers[h], headers.get ? null : undefined, `${what}: ${h}`);
}

describe("response hygiene with real Symfony origins", () => {
  let o1, w;
  before(async () => {
    o1 = await startOrigin({ name: "hy-1" });
    const edge = poolsConfig({ main: [o1] }, {
      routes: [
        { host: "intercept.test", pools: ["main"], intercept_origin_errors: true },
        { path_prefix: "/", pools: ["main"] },
      ],
      extra: PAGES,
    });
    w = await startWorker({ edge, bindings: SECRETS });
  });
  after(async () => {
    await w?.dispose();
    await o1?.stop();
  });

  const fetchAs = (url, init = {}) => w.mf.dispatchFetch(url, { redirect: "manual", ...init, headers: { "cf-connecting-ip": "192.0.2.1", ...(init.headers ?? {}) } });

  test("pages, redirects, 404s and POSTs carry no Host, X-Powered-By, Server or debug tokens", async () => {
    for (const [method, path, status] of [["GET", "/", 200], ["GET", "/legacy", 301], ["GET", "/no-such-page", 404], ["POST", "/order", 201]]) {
      const r = await fetchAs(`https://shop.example.com${path}`, { method, body: method === "POST" ? "x=1" : undefined, headers: method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {} });
      await r.arrayBuffer();
      assert.equal(r.status, status, path);
      assert.equal(r.headers.get("x-origin"), "hy-1", `${path} came from the origin`);
      assertHidden(r.headers, `${method} ${path}`);
    }
  });

  test("a redirect built from the origin's own address reaches the client with the public host", async () => {
    const r = await fetchAs("https://shop.example.com/legacy");
    assert.equal(r.status, 301);
    assert.equal(r.headers.get("location"), "https://shop.example.com/about");
  });

  test("an intercepted origin 500 shows the edge's page; a route that does not intercept passes it", async () => {
    const page = await fetchAs("https://intercept.test/fail", { headers: { accept: BROWSER } });
    const body = await page.text();
    assert.equal(page.status, 500);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.match(body, /Something went wrong on our side/);
    assert.doesNotMatch(body, /stack trace/);
    assertHidden(page.headers, "intercepted");
    const text = await fetchAs("https://intercept.test/fail", { headers: { accept: "*/*" } });
    assert.equal(await text.text(), "500 Internal Server Error\n", "curl gets one line");
    const raw = await fetchAs("https://shop.example.com/fail", { headers: { accept: BROWSER } });
    assert.equal(raw.status, 500);
    assert.match(await raw.text(), /stack trace/, "not intercepted: the origin's own body");
    assertHidden(raw.headers, "passed through");
  });

  test("a denied path gets the 404 page in a browser and text elsewhere", async () => {
    const page = await fetchAs("https://shop.example.com/.env", { headers: { accept: BROWSER } });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /not found/i);
    assert.match(page.headers.get("content-type"), /text\/html/);
    const text = await fetchAs("https://shop.example.com/.env");
    assert.equal(await text.text(), "404 Not Found\n");
  });
});

describe("every origin down", () => {
  let w;
  before(async () => {
    w = await startWorker({ edge: poolsConfig({ dc1: [{ url: "http://127.0.0.1:9" }] }, { extra: PAGES }), bindings: SECRETS });
  });
  after(async () => w?.dispose());

  test("a browser gets the 503 page, curl a line of text, both with Retry-After and no-store", async () => {
    const page = await w.request("/", { headers: { accept: BROWSER } });
    assert.equal(page.status, 503);
    assert.match(page.headers["content-type"], /text\/html/);
    assert.match(page.body.toString(), /back in a minute/);
    assert.equal(page.headers["retry-after"], "10");
    assert.equal(page.headers["cache-control"], "no-store");
    const text = await w.request("/", { headers: { accept: "*/*" } });
    assert.equal(text.status, 503);
    assert.match(text.headers["content-type"], /text\/plain/);
    assert.equal(text.headers["retry-after"], "10");
    assert.equal(text.headers["cache-control"], "no-store");
    const head = await w.request("/", { method: "HEAD", headers: { accept: BROWSER } });
    assert.equal(head.status, 503);
    assert.equal(head.body.length, 0);
  });
});

describe("an intercepting route that caches", () => {
  // An origin 5xx the cache may store (RFC 9111 lets a 502 with explicit freshness be stored):
  // a route that intercepts origin errors shows its own page for it on a hit as on the miss,
  // never the origin's body.
  let raw, w;
  before(async () => {
    raw = await startRawOrigin(() => "HTTP/1.1 502 Bad Gateway\r\nCache-Control: max-age=60\r\nContent-Type: text/html\r\nContent-Length: 28\r\n\r\n<p>origin stack trace</p>\n\n\n");
    const edge = poolsConfig({ p: [{ url: raw.url.origin }] }, { routes: [{ path_prefix: "/", pools: ["p"], intercept_origin_errors: true }], extra: { origin_auth: false, ...PAGES } });
    w = await startWorker({ edge });
  });
  after(async () => {
    await w?.dispose();
    await raw?.close();
  });

  test("a stored origin 502 is intercepted on every hit, as on the miss", async () => {
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.request("/broken", { headers: { accept: BROWSER } });
      seen.push(r.headers["cache-status"]);
      assert.equal(r.status, 502, `request ${i + 1}`);
      assert.doesNotMatch(r.body.toString(), /origin stack trace/, `request ${i + 1}: ${r.headers["cache-status"]}`);
      assert.match(r.body.toString(), /Something went wrong on our side/, `request ${i + 1}: the build's page`);
    }
    assert.ok(seen.some((s) => /hit/.test(s ?? "")), `the copy was served from the cache: ${seen.join(" | ")}`);
    assert.equal(raw.count(), 1, "one origin request: the later ones were hits");
  });
});

describe("configurable hiding", () => {
  let raw, w;
  before(async () => {
    raw = await startRawOrigin(() => "HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\nX-Generator: Drupal 10\r\nX-Powered-By: PHP/8.2\r\nSet-Cookie: a=1; Path=/\r\nCache-Control: max-age=60\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\nok");
  });
  after(async () => {
    await w?.dispose();
    await raw?.close();
  });

  test("extra names are hidden; Set-Cookie, caching and CORS headers pass; Server can be let through", async () => {
    w = await startWorker({ edge: poolsConfig({ p: [{ url: raw.url.origin }] }, { extra: { origin_auth: false, hide_response_headers: ["X-Generator"] } }) });
    const r = await w.request("/");
    assert.equal(r.status, 200);
    for (const h of ["server", "x-generator", "x-powered-by"]) assert.equal(r.headers[h], undefined, h);
    assert.deepEqual(r.headers["set-cookie"], ["a=1; Path=/"]);
    assert.equal(r.headers["cache-control"], "max-age=60");
    assert.equal(r.headers["access-control-allow-origin"], "*");
    await w.dispose();
    w = await startWorker({ edge: poolsConfig({ p: [{ url: raw.url.origin }] }, { extra: { origin_auth: false, pass_server_header: true } }) });
    assert.equal((await w.request("/")).headers.server, "nginx/1.25.3");
  });
});

describe("hop-by-hop headers, both ways", () => {
  let raw, w, seen;
  before(async () => {
    raw = await startRawOrigin((line, head) => {
      seen = head.toLowerCase();
      return "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: origin-secret\r\nX-Ok: 1\r\nContent-Length: 2\r\n\r\nok";
    });
    w = await startWorker({ edge: poolsConfig({ p: [{ url: raw.url.origin }] }, { extra: { origin_auth: false } }) });
  });
  after(async () => {
    await w?.dispose();
    await raw?.close();
  });

  test("headers a Connection header names stay behind, and the edge's own are replaced", async () => {
    // A raw request: fetch() refuses to send Connection-listed headers at all.
    const headers = { connection: "keep-alive, X-Secret", "x-secret": "1", "keep-alive": "timeout=5", "x-real-ip": "6.6.6.6", "x-forwarded-host": "evil.test", "x-app": "kept" };
    const resp = await new Promise((resolve, reject) => {
      const req = http.request({ host: w.url.hostname, port: w.url.port, path: "/", headers, agent: false }, (r) => {
        r.resume();
        r.on("end", () => resolve(r));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(resp.statusCode, 200);
    const names = seen.split("\r\n").map((l) => l.split(":")[0]);
    assert.ok(names.includes("x-app"), `an ordinary header passes: ${seen}`);
    for (const h of ["x-secret", "keep-alive", "x-real-ip"]) assert.ok(!names.includes(h), `${h} reached the origin: ${seen}`);
    assert.match(seen, /\r\nx-forwarded-host: 127\.0\.0\.1(\r|$)/, "X-Forwarded-Host is the edge's");
    assert.equal(resp.headers["x-internal"], undefined, "the origin's Connection-listed header stays behind");
    assert.equal(resp.headers["x-ok"], "1");
  });

  test("a client's X-Forwarded-Prefix (and every X-Forwarded-* the edge does not set) and Expect stay behind; TRACE is answered at the edge", async () => {
    // PHP reads `_` in a name as `-` (HTTP_X_FORWARDED_HOST), so underscore spellings count too.
    const r = await w.request("/", { headers: { "x-forwarded-prefix": "//evil.example", "X-Forwarded-Server": "evil", "x-forwarded-for": "6.6.6.6", expect: "100-continue", X_Forwarded_Prefix: "//evil.example", X_Forwarded_Host: "evil.example", "X-Forwarded_Proto": "gopher", x_real_ip: "6.6.6.6" } });
    assert.equal(r.status, 200);
    const names = seen.split("\r\n").map((l) => l.split(":")[0]);
    for (const h of ["x-forwarded-prefix", "x-forwarded-server", "expect", "x_forwarded_prefix", "x_forwarded_host", "x-forwarded_proto", "x_real_ip"]) assert.ok(!names.includes(h), `${h} reached the origin: ${seen}`);
    assert.match(seen, /\r\nx-forwarded-for: 6\.6\.6\.6, 127\.0\.0\.1(\r|$)/, "the client's X-Forwarded-For is kept, the edge's entry after it");
    const before = raw.count();
    const trace = await w.request("/account", { method: "TRACE" });
    assert.equal(trace.status, 405);
    assert.match(trace.headers.allow, /GET/);
    assert.equal(raw.count(), before, "TRACE never reached the origin");
  });

  test("oversized request headers get 431 at the edge; large ordinary ones pass", async () => {
    // An origin that drops such a request (PHP's built-in server does) would look lost, and the
    // retries would count it against every origin of the chain.
    const before = raw.count();
    for (const headers of [{ "x-big": "a".repeat(20_000) }, { "x-a": "a".repeat(15_000), "x-b": "b".repeat(15_000), "x-c": "c".repeat(15_000), "x-d": "d".repeat(15_000), "x-e": "e".repeat(15_000) }]) {
      const r = await w.request("/", { headers });
      assert.equal(r.status, 431, Object.keys(headers).join());
    }
    // The URL counts toward the head too: a long one is 414, a long one with large fields 431.
    assert.equal((await w.request("/orders?q=" + "a".repeat(40_000))).status, 414);
    const fields = { "x-a": "a".repeat(15_000), "x-b": "b".repeat(15_000), "x-c": "c".repeat(15_000) };
    assert.equal((await w.request("/orders?q=" + "a".repeat(21_000), { headers: fields })).status, 431);
    assert.equal((await w.request("/orders?q=" + "a".repeat(15_000), { headers: fields })).status, 200, "within both limits");
    assert.equal(raw.count(), before + 1, "only the last reached the origin");
    assert.equal((await w.request("/", { headers: { cookie: "c=" + "x".repeat(12_000) } })).status, 200, "a 12 KB cookie is fine");
  });
});

describe("Expect: 100-continue", () => {
  // Node's server answers `100 Continue` to a request that expects it, as nginx in front of
  // PHP-FPM does; forwarded, that interim answer reached the edge's fetch as if it were the
  // response: 502, counted against the origin, and the origin marked as sending interim heads.
  let origin, w;
  before(async () => {
    origin = http.createServer((req, res) => {
      let n = 0;
      req.on("data", (d) => (n += d.length));
      req.on("end", () => res.end(`got ${n} bytes; expect: ${req.headers.expect ?? "none"}`));
    });
    await new Promise((r) => origin.listen(0, "127.0.0.1", r));
    w = await startWorker({ edge: poolsConfig({ p: [{ url: `http://127.0.0.1:${origin.address().port}` }] }, { extra: { origin_auth: false, eject_after_failures: 1 } }), bindings: { EDGE_HEALTH_TOKEN: "h-token" } });
  });
  after(async () => {
    await w?.dispose();
    origin?.close();
  });

  test("a client's Expect is not forwarded: uploads that expect 100 get the origin's answer, and the origin stays healthy", async () => {
    const body = "x".repeat(2_000_000);
    for (const [headers, size] of [[{ "content-length": "3000" }, 3000], [{ "content-length": String(body.length) }, body.length], [{ "transfer-encoding": "chunked" }, body.length]]) {
      const r = await w.request("/upload", { method: "POST", headers: { ...headers, expect: "100-continue" }, body: body.slice(0, size) });
      assert.equal(r.status, 200, `${JSON.stringify(headers)}: ${r.body}`);
      assert.equal(r.body.toString(), `got ${size} bytes; expect: none`);
    }
    const h = JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer h-token" } })).body);
    assert.deepEqual(h.pools.p.origins.map((o) => [o.consecutive_failures, o.ejections]), [[0, 0]]);
  });
});

describe("an origin's reason phrase", () => {
  // RFC 9112 §4 allows a tab (and obs-text) in a reason phrase; workerd refuses any control
  // character in the status text of a response it builds. The edge passes such an answer on with
  // the status's usual phrase (clients ignore the phrase) rather than failing it with a 500.
  test("a tab or a control character in it does not fail the answer, on every path", async () => {
    const seen = [];
    const o = await startRawOrigin((line) => {
      // The rest of a chunked POST's body reaches this raw origin as a line of its own.
      if (!/^[A-Z]+ \S+ HTTP\/1\.1$/.test(line)) return null;
      seen.push(line);
      const [method, target] = line.split(" ");
      const reason = target.endsWith("-ctl") ? "a\x01b" : "Fine\tThanks";
      const body = `answer to ${method} ${target}`;
      return `HTTP/1.1 200 ${reason}\r\nDate: ${new Date().toUTCString()}\r\nCache-Control: public, max-age=60\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    const routes = [
      { path_prefix: "/cached", pools: ["p"] },
      { path_prefix: "/", pools: ["p"], cache: { enabled: false } },
    ];
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { routes, extra: { origin_auth: false } }) });
    try {
      const cases = [
        ["GET", "/page", "driven by the JavaScript entry"],
        ["GET", "/page-ctl", "driven by the JavaScript entry"],
        ["POST", "/form", "driven by the Rust glue"],
        ["GET", "/cached/p", "a cache miss, stored"],
        ["GET", "/cached/p-ctl", "a cache miss, stored"],
      ];
      for (const [method, path, how] of cases) {
        const r = await w.request(path, { method, body: method === "POST" ? "a=1" : undefined });
        assert.equal(r.status, 200, `${method} ${path}, ${how}`);
        assert.equal(r.reason, "OK", `${method} ${path}: the status's usual phrase`);
        assert.equal(r.body.toString(), `answer to ${method} ${path}`);
      }
      const hit = await w.request("/cached/p");
      assert.match(hit.headers["cache-status"] ?? "", /^edge; hit/, "the miss was stored");
      assert.equal(hit.body.toString(), "answer to GET /cached/p");
      assert.equal(seen.length, cases.length, "one origin request each, none retried");
    } finally {
      await w.dispose();
      await o.close();
    }
  });
});
