// The bench scripts' command lines: `--help` prints the script's documented usage, a wrong
// option, or a wrong value checked before anything starts, is a clear error (exit status 2),
// not a stack trace. Nothing is benchmarked.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { ROOT } from "./helpers.mjs";

const SCRIPTS = ["cache-tests", "coordinator", "edge-assets", "edge-cache", "edge-cpu", "edge-pools"];
const run = (name, ...args) => spawnSync("node", [path.join(ROOT, "bench", `${name}.mjs`), ...args], { encoding: "utf8", timeout: 20_000 });

describe("bench scripts' command lines", () => {
  for (const name of SCRIPTS) {
    test(`${name}: --help prints the usage; a wrong option is refused with status 2`, () => {
      const help = run(name, "--help");
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^usage: node bench\//m);
      const wrong = run(name, "--no-such-option");
      assert.equal(wrong.status, 2);
      assert.match(wrong.stderr, /Unknown option '--no-such-option'/);
      assert.doesNotMatch(wrong.stderr, /\n\s+at /, "no stack trace");
    });
  }
  // Option values checked before anything starts are refused the same way.
  const values = [
    ["edge-pools", ["--warmup", "0"], /--warmup must be at least 1/],
    ["edge-pools", ["--only", "nonesuch"], /--only: unknown target nonesuch/],
    ["edge-pools", ["--baseline", "no/such/dir"], /--baseline: no\/such\/dir holds neither/],
    ["edge-cpu", ["--rounds", "1"], /--rounds must be at least 2/],
    ["edge-cpu", ["--build-as", "loud"], /--build-as loud: want quiet or signs/],
    ["edge-cpu", ["--build", "old=no/such/dir"], /--build old=no\/such\/dir: want NAME=DIR/],
    ["edge-cpu", ["--build", "target"], /--build target: want NAME=DIR/],
    ["cache-tests", ["--shared", "/no/such/dir"], /not found: pass --shared DIR/],
  ];
  for (const [name, args, message] of values) {
    test(`${name} ${args.join(" ")}: refused with status 2, naming the option`, () => {
      const r = run(name, ...args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /--help prints the usage/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });
  }
});
