// Serves an output directory at the edge's well-known history paths, for bench/deltas.py:
//   node bench/history-server.mjs static DIR   a plain node:http server (the builder's own cost)
//   node bench/history-server.mjs worker DIR   the built worker in Miniflare (what the edge does)
// Prints the base URL on its first line, then serves until stdin closes.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { startWorker } from "../tests/e2e/helpers.mjs";

const [mode, dir] = process.argv.slice(2);
const PREFIX = "/.well-known/asset-history/";
let stop;
if (mode === "worker") {
  const w = await startWorker({ edge: { public_path: "/assets/" }, assets: path.resolve(dir), keepLog: false });
  console.log(w.url.origin);
  stop = () => w.dispose();
} else {
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(req.url.split("?")[0]);
    let file = null;
    if (p === PREFIX + "history.json") file = path.join(dir, "asset-history.json");
    else if (p.startsWith(PREFIX + "files/") && !p.includes("..")) file = path.join(dir, p.slice(PREFIX.length + "files/".length));
    fs.readFile(file ?? "/nonexistent", (err, body) => {
      if (err) {
        res.writeHead(404, { "content-length": 0 });
        return res.end();
      }
      res.writeHead(200, { "content-length": body.length });
      res.end(body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  console.log(`http://127.0.0.1:${server.address().port}`);
  stop = () => new Promise((r) => server.close(r));
}
process.stdin.resume();
process.stdin.on("end", async () => {
  await stop();
  process.exit(0);
});
