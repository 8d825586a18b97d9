// The CPU time of a worker's own workerd process (Miniflare runs one per instance), read from
// /proc: CPU per request is what a worker costs, and unlike req/s and latency it does not move
// much when other processes take the shared cores. Shared by bench/edge-pools.mjs and
// bench/edge-cpu.mjs.
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";

const TICKS = Number((await promisify(execFile)("getconf", ["CLK_TCK"])).stdout.trim()) || 100;

/** The workerd processes this process started. */
function workerdPids() {
  const out = new Set();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && /\(workerd\)/.test(stat)) out.add(Number(d));
    } catch {}
  }
  return out;
}

/** Starts a worker and notes the workerd process it got (as `w.pid`; undefined if none appeared). */
export async function withPid(start) {
  const before = workerdPids();
  const w = await start();
  w.pid = [...workerdPids()].find((p) => !before.has(p));
  return w;
}

/** user + system CPU of `pid` (all its threads), ms. */
export function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
}
