// Shared helpers for the end-to-end tests: the built worker in Miniflare (real workerd) on a
// loopback port, raw HTTP requests (no client-side decompression or normalisation), and
// Symfony origins under PHP's built-in server.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import readline from "node:readline";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const WWW_BUILD = path.join(ROOT, "www/build");
export const COMPATIBILITY_DATE = "2026-04-26";


/**
 * Starts the built worker. `edge` is the EDGE object of [vars]; `assets` the directory the
 * ASSETS binding serves. Returns { url, log, request, dispose }.
 */
export async function startWorker({ edge = { public_path: "/assets/" }, assets = WWW_BUILD, bindings = {}, kvNamespaces, script = "edge-worker/build/worker/entry.mjs", keepLog = true, port = 0, coordinator = script.startsWith("edge-worker/") } = {}) {
  // Every line workerd prints (the worker's console output included), so tests can assert
  // what the worker logged.
  const log = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(ROOT, script),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: edge === undefined ? bindings : { EDGE: edge, ...bindings },
    kvNamespaces,
    durableObjects: coordinator ? { EDGE_COORDINATOR: { className: "EdgeCoordinator", useSQLite: true } } : undefined,
    assets: {
      directory: assets,
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    cf: false,
    host: "127.0.0.1",
    port,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      // keepLog = false (benchmarks): drain what workerd prints without keeping it.
      for (const stream of [stdout, stderr]) {
        if (keepLog) readline.createInterface({ input: stream }).on("line", (l) => log.push(l));
        else stream.resume();
      }
    },
  });
  const url = await mf.ready;
  return {
    mf,
    url,
    log,
    request: (p, opts) => request(url, p, opts),
    /** Waits (up to 2 s) for a log line matching `pred`. */
    logged: async (pred) => {
      for (let i = 0; i < 40; i++) {
        if (log.some(pred)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
    dispose: () => mf.dispose(),
  };
}

/** One raw HTTP/1.1 request over loopback; the body is returned as the bytes on the wire. */
export function request(base, p, { method = "GET", headers = {}, body, timeout = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, path: p, method, headers, agent: false, timeout },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, reason: res.statusMessage, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout: ${method} ${p}`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The builder's manifests for a build directory. */
export function manifests(dir = WWW_BUILD) {
  return {
    symfony: JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")),
    cdn: JSON.parse(fs.readFileSync(path.join(dir, "cdn-manifest.json"), "utf8")),
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** The origin-auth secret the tests share between the worker and the origins. */
export const ORIGIN_KEY = "test-origin-key-" + process.pid;

/**
 * Starts the www app under `php -S` (its own process group, so a kill takes its workers too).
 * `port` pins the port (to restart an origin where it was); `key` is the origin-auth secret
 * (null: the origin runs without an edge in front). Returns { name, port, url, stop, kill, start }.
 */
export async function startOrigin({ name = "origin-1", port, key = ORIGIN_KEY, env = {} } = {}) {
  port ??= await freePort();
  const varDir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), `www-${name}-`));
  const url = new URL(`http://127.0.0.1:${port}`);
  let child;
  const origin = {
    name,
    port,
    url,
    varDir,
    async start() {
      child = spawn("php", ["-S", `127.0.0.1:${port}`, "-t", "www/public", "www/public/index.php"], {
        cwd: ROOT,
        env: { ...process.env, APP_ORIGIN_NAME: name, APP_VAR_DIR: varDir, PHP_CLI_SERVER_WORKERS: "4", ...(key ? { EDGE_ORIGIN_KEY: key } : {}), ...env },
        stdio: "ignore",
        detached: true,
      });
      for (let i = 0; i < 100; i++) {
        try {
          const r = await request(url, "/orders", { timeout: 2000 });
          if (r.status === 200 || r.status === 403) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`origin ${name} did not start on ${port}`);
    },
    /** Kills the origin abruptly (SIGKILL to its process group), as a crash would. */
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        await exited;
      }
    },
    async stop() {
      await origin.kill();
      fs.rmSync(varDir, { recursive: true, force: true });
    },
  };
  await origin.start();
  return origin;
}

/** The EDGE config for pools of origins: { dc1: [o1, o2], dc2: [o3] } with one catch-all route. */
/**
 * `E2E_UNCACHED=1`: the default route of `poolsConfig` does not cache, so that the proxy suites
 * run again through the path a non-caching route takes (driven from the entry module, see
 * edge-worker/src/driven.rs); `make e2e` runs them both ways.
 */
export const UNCACHED = process.env.E2E_UNCACHED === "1";

export function poolsConfig(pools, { routes, steering = {}, extra = {} } = {}) {
  return {
    public_path: "/assets/",
    pools: Object.fromEntries(
      Object.entries(pools).map(([name, origins]) => [
        name,
        { ...(steering[name] ?? {}), origins: origins.map((o) => ({ url: typeof o.url === "string" ? o.url : o.url.origin, weight: o.weight ?? 1 })) },
      ]),
    ),
    routes: routes ?? [{ path_prefix: "/", pools: Object.keys(pools), ...(UNCACHED && { cache: { enabled: false } }) }],
    ...extra,
  };
}

/**
 * A transparent tap in front of `target` (a URL): forwards every request as it came (method,
 * path, headers, Host included, body) and records what it saw, so a test can look at exactly
 * what the edge sent an origin (e.g. to replay its signature). Returns { url, seen, close }.
 */
export async function startTap(target) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, path: req.url, headers: { ...req.headers }, body });
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (ur) => {
          res.writeHead(ur.statusCode, ur.headers);
          ur.pipe(res);
        },
      );
      up.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(`http://127.0.0.1:${server.address().port}`);
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

/**
 * A scripted origin speaking raw HTTP/1.1: `respond(request line, headers text)` returns the
 * exact bytes to send back (interim responses, odd statuses…), or null to hang without an answer
 * (or a promise of either, to answer late).
 * Returns { url, close, count }.
 */
export async function startRawOrigin(respond) {
  let count = 0;
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      count++;
      const [line, ...rest] = buf.slice(0, end).split("\r\n");
      buf = "";
      Promise.resolve(respond(line, rest.join("\r\n"))).then((out) => {
        if (out !== null) socket.end(Buffer.from(out, "latin1"));
      });
    });
    socket.on("error", () => {});
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return { url: new URL(`http://127.0.0.1:${server.address().port}`), close, count: () => count };
}
