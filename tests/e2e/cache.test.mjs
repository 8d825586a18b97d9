// The shared HTTP cache end to end: the built worker in Miniflare (workerd's Cache API and the
// coordinator Durable Object) in front of real Symfony origins (php -S) and scripted origins.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ORIGIN_KEY, poolsConfig, startOrigin, startRawOrigin, startWorker } from "./helpers.mjs";

const SECRETS = { EDGE_ORIGIN_KEY: ORIGIN_KEY, EDGE_HEALTH_TOKEN: "cache-token" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const date = () => new Date().toUTCString();

/** A scripted origin: `headers(n, requestLine, requestHeaders)` gives response fields for its n-th request. */
async function scripted(headers, { delayMs = 0, status = 200 } = {}) {
  let n = 0;
  const o = await startRawOrigin(async (line, reqHeaders) => {
    const k = ++n;
    if (delayMs) await sleep(delayMs);
    const body = `body ${k}`;
    const extra = headers(k, line, reqHeaders).map(([h, v]) => `${h}: ${v}\r\n`).join("");
    return `HTTP/1.1 ${status} OK\r\nDate: ${date()}\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
  });
  return o;
}
const cacheStatus = (r) => r.headers["cache-status"] ?? "";

describe("pages from the real Symfony demo", () => {
  let o, w;
  before(async () => {
    o = await startOrigin({ name: "cache-1" });
    w = await startWorker({ edge: poolsConfig({ main: [o] }), bindings: SECRETS });
  });
  after(async () => {
    await w?.dispose();
    await o?.stop();
  });

  test("MISS then HIT with a growing Age; HEAD and a conditional GET answered from the cache", async () => {
    const first = await w.request("/about");
    assert.equal(first.status, 200);
    assert.match(cacheStatus(first), /^edge; fwd=uri-miss; fwd-status=200; stored/);
    assert.match(first.headers["cache-control"], /s-maxage=30/);
    assert.equal(first.headers["x-cache-tags"], undefined, "the tag header never reaches the client");
    await sleep(1100);
    const second = await w.request("/about");
    assert.match(cacheStatus(second), /^edge; hit; ttl=\d+/);
    assert.ok(Number(second.headers.age) >= 1, `Age ${second.headers.age}`);
    assert.equal(second.headers["x-origin"], "cache-1");
    assert.deepEqual(second.body, first.body);
    assert.match(second.headers["server-timing"], /^edge;dur=\d+/);
    const head = await w.request("/about", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.match(cacheStatus(head), /hit/);
    assert.equal(head.body.length, 0);
    const etag = second.headers.etag;
    assert.ok(etag);
    const nm = await w.request("/about", { headers: { "if-none-match": etag } });
    assert.equal(nm.status, 304);
    assert.match(cacheStatus(nm), /hit/);
    assert.equal(nm.headers.etag, etag);
  });

  test("uncacheable and personal answers are never shared", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await w.request("/whoami");
      assert.match(cacheStatus(r), /fwd=uri-miss; fwd-status=200; detail=no-store/, "no-store");
    }
    const session = await w.request("/about", { headers: { cookie: "PHPSESSID=abc" } });
    assert.match(cacheStatus(session), /fwd=bypass; fwd-status=200; detail=session/);
  });

  test("POST /order purges the pages tagged `orders` (the origin says so), and the home page shows the new count", async () => {
    const before = await w.request("/");
    const count = (r) => Number(/data-orders>(\d+)</.exec(r.body.toString())?.[1]);
    const n = count(before);
    assert.match(cacheStatus(await w.request("/")), /hit/);
    const post = await w.request("/order", { method: "POST", body: "x=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(post.status, 201);
    assert.equal(post.headers["x-edge-purge-tags"], undefined, "the purge header never reaches the client");
    const after = await w.request("/");
    assert.match(cacheStatus(after), /fwd=stale/, "purged: not fresh any more");
    assert.equal(count(after), n + 1);
  });
});

describe("what a shared cache must not store", () => {
  test("private, no-store, Set-Cookie, Vary: * and Authorization", async () => {
    const cases = [
      ["private", [["Cache-Control", "private, max-age=60"]], {}],
      ["no-store", [["Cache-Control", "no-store, max-age=60"]], {}],
      ["set-cookie", [["Cache-Control", "public, max-age=60"], ["Set-Cookie", "a=1"]], {}],
      ["vary-star", [["Cache-Control", "max-age=60"], ["Vary", "*"]], {}],
      ["authorization", [["Cache-Control", "max-age=60"]], { authorization: "Bearer alice" }],
    ];
    for (const [why, fields, reqHeaders] of cases) {
      const o = await scripted(() => fields);
      const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
      try {
        const a = await w.request("/x", { headers: reqHeaders });
        assert.match(cacheStatus(a), new RegExp(`detail=${why}`), `${why}: ${cacheStatus(a)}`);
        const b = await w.request("/x");
        assert.equal(b.body.toString(), "body 2", `${why}: the second client got its own answer`);
        assert.equal(o.count(), 2);
      } finally {
        await w.dispose();
        await o.close();
      }
    }
  });

  test("Vary: Accept-Language keeps two variants apart", async () => {
    const o = await scripted((_, __, h) => [["Cache-Control", "max-age=60"], ["Vary", "Accept-Language"], ["Content-Language", /accept-language: fr/i.test(h) ? "fr" : "en"]]);
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      const en1 = await w.request("/v", { headers: { "accept-language": "en" } });
      const fr1 = await w.request("/v", { headers: { "accept-language": "fr" } });
      const en2 = await w.request("/v", { headers: { "accept-language": "en" } });
      const fr2 = await w.request("/v", { headers: { "accept-language": "FR" } });
      assert.equal(en1.headers["content-language"], "en");
      assert.equal(fr1.headers["content-language"], "fr");
      assert.deepEqual([en2.body.toString(), fr2.body.toString()], [en1.body.toString(), fr1.body.toString()]);
      assert.match(cacheStatus(en2), /hit/);
      assert.match(cacheStatus(fr2), /hit/, "fr and FR are one variant");
      assert.equal(o.count(), 2);
    } finally {
      await w.dispose();
      await o.close();
    }
  });
});

describe("grace", () => {
  test("stale-while-revalidate answers stale at once and the next request sees the refreshed copy", async () => {
    const o = await scripted(() => [["Cache-Control", "max-age=1, stale-while-revalidate=30"]], { delayMs: 300 });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      assert.equal((await w.request("/swr")).body.toString(), "body 1");
      await sleep(1600);
      const t = Date.now();
      const stale = await w.request("/swr");
      assert.ok(Date.now() - t < 250, "no wait for the origin's 300 ms");
      assert.equal(stale.body.toString(), "body 1");
      assert.match(cacheStatus(stale), /hit; ttl=(0|-\d+); detail=stale-while-revalidate/);
      await sleep(600);
      const fresh = await w.request("/swr");
      assert.equal(fresh.body.toString(), "body 2", "refreshed in the background");
      assert.match(cacheStatus(fresh), /hit/);
      assert.equal(o.count(), 2);
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("a background revalidation goes in the edge's name: never with the client's credentials or conditions", async () => {
    // A stale page revalidated because a client with Authorization (or its own If-None-Match: *)
    // asked for it: the origin must not see either, else it answers for that one client and
    // the answer is stored for everyone (RFC 9111 §3.5), or a 304 to the client's condition
    // confirms a copy the origin no longer has.
    const seen = [];
    const o = await startRawOrigin((line, h) => {
      seen.push(h.toLowerCase());
      const who = /^authorization: (.*)$/im.exec(h)?.[1];
      const body = who ? `page for ${who}` : `page ${seen.length}`;
      if (/^if-none-match:/im.test(h)) return `HTTP/1.1 304 Not Modified\r\nDate: ${date()}\r\n\r\n`;
      return `HTTP/1.1 200 OK\r\nDate: ${date()}\r\nCache-Control: max-age=1, stale-while-revalidate=30\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      assert.equal((await w.request("/account")).body.toString(), "page 1");
      await sleep(1600);
      const stale = await w.request("/account", { headers: { authorization: "Bearer alice", "if-none-match": "*" } });
      assert.match(cacheStatus(stale), /detail=stale-while-revalidate/);
      await sleep(600);
      assert.equal(seen.length, 2, "one background revalidation");
      assert.doesNotMatch(seen[1], /authorization|if-none-match/, seen[1]);
      const next = await w.request("/account");
      assert.equal(next.body.toString(), "page 2", "the origin's current page, made for nobody in particular");
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("a background revalidation answered 304 refreshes the stored copy: its body kept, fresh again", async () => {
    const seen = [];
    const o = await startRawOrigin((line, h) => {
      seen.push(h.toLowerCase());
      const cc = "Cache-Control: max-age=60, stale-while-revalidate=30";
      if (/^if-none-match: "v1"$/im.test(h)) return `HTTP/1.1 304 Not Modified\r\nDate: ${date()}\r\nETag: "v1"\r\n${cc}\r\n\r\n`;
      const body = `page ${seen.length}`;
      return `HTTP/1.1 200 OK\r\nDate: ${date()}\r\nETag: "v1"\r\nCache-Control: max-age=1, stale-while-revalidate=30\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      assert.equal((await w.request("/catalogue")).body.toString(), "page 1");
      await sleep(1600);
      const stale = await w.request("/catalogue");
      assert.match(cacheStatus(stale), /detail=stale-while-revalidate/);
      await sleep(600);
      assert.equal(seen.length, 2, "one background revalidation");
      assert.match(seen[1], /^if-none-match: "v1"$/m, "conditional, with the copy's validator");
      const next = await w.request("/catalogue");
      assert.equal(next.body.toString(), "page 1", "the copy the 304 confirmed");
      assert.match(cacheStatus(next), /hit; ttl=(5\d|60)\b/, "fresh for the 304's max-age");
      assert.equal(seen.length, 2);
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("a background revalidation's answer is stored whole, even with a reason phrase the runtime refuses (a tab)", async () => {
    // Its answer goes to no one, so no response is built around it: all of its body is stored.
    const seen = [];
    const o = await startRawOrigin((line, h) => {
      seen.push(h.toLowerCase());
      const n = seen.length;
      const body = `page ${n}`;
      const [reason, cc] = n === 1 ? ["OK", "max-age=1, stale-while-revalidate=30"] : ["Fine\tThanks", "max-age=60"];
      return `HTTP/1.1 200 ${reason}\r\nDate: ${date()}\r\nETag: "v${n}"\r\nCache-Control: ${cc}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      assert.equal((await w.request("/catalogue")).body.toString(), "page 1");
      await sleep(1600);
      const stale = await w.request("/catalogue");
      assert.equal(stale.body.toString(), "page 1");
      assert.match(cacheStatus(stale), /detail=stale-while-revalidate/);
      await sleep(700);
      assert.equal(seen.length, 2, "one background revalidation");
      assert.match(seen[1], /^if-none-match: "v1"$/m, "conditional, with the copy's validator");
      const next = await w.request("/catalogue");
      assert.equal(next.body.toString(), "page 2", "the revalidation's answer replaced the copy");
      assert.match(cacheStatus(next), /^edge; hit; ttl=(5\d|60)$/, "fresh for the answer's max-age");
      await sleep(300);
      assert.equal(seen.length, 2, "no further revalidation");
      assert.ok(!w.log.some((l) => /background revalidation of/.test(l)), "no failed revalidation logged");
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("query parameters left out of the key (utm_*) are not forwarded either", async () => {
    // Else they are unkeyed input: a page that reflects one would be stored for everyone.
    const lines = [];
    const o = await startRawOrigin((line) => {
      lines.push(line);
      const body = `page for ${line.split(" ")[1]}`;
      return `HTTP/1.1 200 OK\r\nDate: ${date()}\r\nCache-Control: max-age=60\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      const first = await w.request("/product?utm_source=%22%3E%3Cscript%3E&id=3");
      assert.equal(first.body.toString(), "page for /product?id=3");
      const next = await w.request("/product?id=3");
      assert.equal(next.body.toString(), "page for /product?id=3");
      assert.match(cacheStatus(next), /hit/);
      assert.deepEqual(lines, ["GET /product?id=3 HTTP/1.1"]);
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("requests the cache never uses keep their whole query (utm_* reach the origin on a POST or a session's GET)", async () => {
    // Campaign tags on a sign-up are the marketing team's data; only what the cache may store
    // is forwarded without them.
    const lines = [];
    const o = await startRawOrigin((line) => {
      lines.push(line);
      return `HTTP/1.1 200 OK\r\nDate: ${date()}\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok`;
    });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      const target = "/signup?utm_source=mail&plan=2";
      assert.equal((await w.request(target, { method: "POST", headers: { "content-length": "0" } })).status, 200);
      assert.equal((await w.request(target, { headers: { cookie: "PHPSESSID=abc" } })).status, 200);
      assert.equal((await w.request(target)).status, 200);
      assert.deepEqual(lines, [`POST ${target} HTTP/1.1`, `GET ${target} HTTP/1.1`, "GET /signup?plan=2 HTTP/1.1"]);
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("a request waiting on another's miss is answered within the deadline, not after a second one", async () => {
    // Origins that never answer: the first request's attempts use up deadline_ms; the one that
    // joined its miss must not then start a whole deadline of its own.
    const hung = [await startRawOrigin(() => null), await startRawOrigin(() => null)];
    const w = await startWorker({ edge: poolsConfig({ p: hung.map((h) => ({ url: h.url.origin })) }, { extra: { origin_auth: false, attempt_timeout_ms: 1000, deadline_ms: 1500, max_attempts: 2 } }) });
    try {
      const t = Date.now();
      const first = w.request("/page");
      await sleep(50);
      const second = await w.request("/page");
      const took = Date.now() - t;
      assert.equal((await first).status, 503);
      assert.equal(second.status, 503);
      assert.ok(took < 2300, `the second was answered ${took} ms after the first began (deadline 1500 ms)`);
    } finally {
      await w.dispose();
      for (const h of hung) await h.close();
    }
  });

  test("50 concurrent misses of one URL make exactly one origin request", async () => {
    const o = await scripted(() => [["Cache-Control", "max-age=60"]], { delayMs: 300 });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }) });
    try {
      const all = await Promise.all(Array.from({ length: 50 }, () => w.request("/hot")));
      assert.equal(o.count(), 1);
      assert.ok(all.every((r) => r.status === 200 && r.body.toString() === "body 1"));
      assert.ok(all.filter((r) => /collapsed/.test(cacheStatus(r))).length >= 40, all.map(cacheStatus).join("\n"));
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("every origin killed: cached pages keep answering within their window, others get 503", async () => {
    const o = await startOrigin({ name: "grace-1" });
    const w = await startWorker({ edge: poolsConfig({ main: [o] }, { extra: { eject_after_failures: 1 } }), bindings: SECRETS });
    try {
      for (const p of ["/", "/about"]) assert.equal((await w.request(p)).status, 200);
      await o.kill();
      for (let i = 0; i < 3; i++) {
        for (const p of ["/", "/about"]) {
          const r = await w.request(p);
          assert.equal(r.status, 200, p);
          assert.match(cacheStatus(r), /ttl=/, p);
        }
      }
      const unc = await w.request("/whoami");
      assert.equal(unc.status, 503);
      assert.equal(unc.headers["retry-after"], "10");
      // Known down (ejected): the stale copy answers at once, without an attempt.
      const t = Date.now();
      const r = await w.request("/about");
      assert.ok(Date.now() - t < 200);
      assert.match(cacheStatus(r), /hit; ttl=-?\d+; detail=origins-down|hit; ttl=\d+/);
    } finally {
      await w.dispose();
      await o.stop();
    }
  });

  test("a purge that lands while a miss's answer is on its way: the copy it stores is stale at once", async () => {
    // The origin may have answered from the state the purge replaced.
    const o = await scripted(() => [["Cache-Control", "max-age=60"]], { delayMs: 800 });
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false } }), bindings: SECRETS });
    try {
      const purge = (body) => w.request("/__edge/purge", { method: "POST", body: JSON.stringify(body), headers: { authorization: "Bearer cache-token", "content-type": "application/json" } });
      const first = w.request("/slow");
      await sleep(300);
      assert.equal((await purge({ urls: [`${w.url.origin}/slow`] })).status, 200);
      assert.equal((await first).body.toString(), "body 1", "the request under way gets its answer");
      const next = await w.request("/slow");
      assert.equal(next.body.toString(), "body 2", "the copy asked for before the purge is not served");
      assert.doesNotMatch(cacheStatus(next), /hit/);
      assert.match(cacheStatus(await w.request("/slow")), /hit/, "the copy asked for after it is");
    } finally {
      await w.dispose();
      await o.close();
    }
  });

  test("a tag purge makes the next request a miss, while the soft-purged copy still serves when the origins are down", async () => {
    const o = await scripted(() => [["Cache-Control", "max-age=60, stale-if-error=600"], ["X-Cache-Tags", "product-7 list"]]);
    const w = await startWorker({ edge: poolsConfig({ p: [{ url: o.url.origin }] }, { extra: { origin_auth: false, eject_after_failures: 1 } }), bindings: SECRETS });
    try {
      assert.equal((await w.request("/p")).body.toString(), "body 1");
      assert.match(cacheStatus(await w.request("/p")), /hit/);
      const purge = (body) => w.request("/__edge/purge", { method: "POST", body: JSON.stringify(body), headers: { authorization: "Bearer cache-token", "content-type": "application/json" } });
      assert.equal((await purge({ tags: ["product-7"] })).status, 200);
      assert.equal((await w.request("/__edge/purge", { method: "POST", body: "{}" })).status, 401, "the token is required");
      assert.equal((await purge({ tagz: [] })).status, 400);
      const after = await w.request("/p");
      assert.equal(after.body.toString(), "body 2", "purged: fetched anew");
      assert.equal((await purge({ urls: [`${w.url.origin}/p`] })).status, 200);
      await o.close();
      const down = await w.request("/p");
      assert.equal(down.status, 200);
      assert.equal(down.body.toString(), "body 2", "the soft-purged copy answers while the origin is down");
      assert.match(cacheStatus(down), /stale|origins-down/);
      const health = JSON.parse((await w.request("/__edge/health", { headers: { authorization: "Bearer cache-token" } })).body);
      assert.ok(health.cache.hit >= 1 && health.cache.miss >= 2 && health.cache.stale >= 1, JSON.stringify(health.cache));
    } finally {
      await w.dispose();
      await o.close().catch(() => {});
    }
  });
});
