#!/usr/bin/env python3
"""Benchmark: RFC 9842 deltas and builds with a deploy history, in one run.

1. Delta bytes against br for real npm releases (npm pack, cached under target/bench/pairs): for
   each pair, deploy 1 publishes the old file, deploy 2 (built with deploy 1's history) the new
   one; the new entry's dcz/dcb sizes from its manifest against its br sibling, beside
   `zstd -19 --patch-from` (the CLI, for reference). Goals: patch releases <= 5 % of br, minor
   releases <= 35 %.
2. Build times on the dev corpus (../shared/bench/make-corpus.sh): a cold build (no cache, no
   history), then, with one file changed, a CI build with no local cache and --history from a
   directory and from a URL (a node server on loopback with the edge's well-known layout, and the
   built worker in Miniflare). Goal: each <= 0.1x the cold build.
3. What deltas cost: every CSS/JS file of the corpus changed in two successive deploys, then a
   third deploy built with no cache and the history, with deltas (the defaults) and without
   (--delta-versions 0). Goal: deltas add <= 20 % to the cold build.

Each figure is one run (the machine is shared); ratios are taken within the run.

usage: bench/deltas.py [--skip-pairs] [--skip-builds]
"""
import argparse, json, os, shutil, subprocess, sys, tarfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
WORK = ROOT / "target" / "bench"
BIN = ROOT / "target" / "release" / "asset-builder"
CHANGED_CSS = "vendor/bootstrap-5.3.3/dist/css/bootstrap.css"

# (label, kind, package, old, new, file inside the package)
PAIRS = [
    ("chart.js 4.4.3 -> 4.4.4", "patch", "chart.js", "4.4.3", "4.4.4", "dist/chart.umd.js"),
    ("bootstrap 5.3.2 -> 5.3.3 (js)", "patch", "bootstrap", "5.3.2", "5.3.3", "dist/js/bootstrap.bundle.min.js"),
    ("bootstrap 5.3.2 -> 5.3.3 (css)", "patch", "bootstrap", "5.3.2", "5.3.3", "dist/css/bootstrap.min.css"),
    ("jquery 3.6.4 -> 3.7.1", "minor", "jquery", "3.6.4", "3.7.1", "dist/jquery.min.js"),
    ("turbo 7.3.0 -> 8.0.10", "major", "@hotwired/turbo", "7.3.0", "8.0.10", "dist/turbo.es2017-esm.js"),
]
GOALS = {"patch": 0.05, "minor": 0.35}


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def timed(*cmd):
    t = time.perf_counter()
    sh(*cmd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def package(name, version):
    """The unpacked npm package (fetched once with npm pack)."""
    pairs = WORK / "pairs"
    d = pairs / f"{name.replace('/', '-').lstrip('@')}-{version}"
    if not d.is_dir():
        pairs.mkdir(parents=True, exist_ok=True)
        out = sh("npm", "pack", f"{name}@{version}", "--silent", cwd=pairs, capture_output=True, text=True)
        tgz = pairs / out.stdout.strip().splitlines()[-1]
        tmp = d.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with tarfile.open(tgz) as t:
            t.extractall(tmp, filter="data")
        (tmp / "package").rename(d)
        shutil.rmtree(tmp)
    return d


def build(src, out, *extra):
    return [BIN, "build", src, "--out", out, "--quiet", *extra]


def pairs_bench():
    print("== delta bytes vs br, real releases (one run)")
    print(f"{'pair':<32}{'kind':<7}{'br':>9}{'dcz':>8}{'dcz/br':>8}{'dcb':>8}{'dcb/br':>8}{'zstd CLI':>10}{'goal':>7}  (default codings)")
    work = WORK / "deltas"
    results = []
    for label, kind, name, old, new, rel in PAIRS:
        shutil.rmtree(work, ignore_errors=True)
        src, out = work / "src", work / "out"
        target = src / "vendor" / Path(rel).name
        target.parent.mkdir(parents=True)
        old_file, new_file = package(name, old) / rel, package(name, new) / rel
        shutil.copy(old_file, target)
        sh(*build(src, out, "--no-cache", "--deploy-id", "old", "--delta-min-size", "0"))
        shutil.copy(new_file, target)
        sizes, shipped = {}, []
        # Each coding on its own (the builder skips dcb beside a patch-like dcz), then the defaults.
        for codings in ("dcz", "dcb", "dcz,dcb"):
            new_out = work / f"out-{codings}"
            sh(*build(src, new_out, "--no-cache", "--deploy-id", "new", "--history", out,
                      "--delta-min-size", "0", "--delta-codings", codings))
            m = json.loads((new_out / "cdn-manifest.json").read_text())
            e = next(e for e in m["entries"].values() if e["deploy"] == "new" and e["logical_path"].endswith(Path(rel).name))
            br = e["encodings"]["br"]["size"]
            if codings == "dcz,dcb":
                shipped = [d["encoding"] for d in e.get("deltas", [])]
            else:
                sizes.update({d["encoding"]: d["size"] for d in e.get("deltas", [])})
        cli = subprocess.run(["zstd", "-q", "-19", "-c", f"--patch-from={old_file}", str(new_file)], capture_output=True, check=True).stdout
        goal = GOALS.get(kind)
        best = min(sizes.values()) if sizes else br
        ok = "" if goal is None else ("ok" if best <= goal * br else "MISSED")
        fmt = lambda enc: (f"{sizes[enc]:>8}{sizes[enc] / br:>8.3f}" if enc in sizes else f"{'-':>8}{'-':>8}")
        print(f"{label:<32}{kind:<7}{br:>9}{fmt('dcz')}{fmt('dcb')}{len(cli):>10}{ok:>7}  ships {'+'.join(shipped) or '-'}")
        results.append((label, kind, br, sizes, len(cli)))
    return results


class Server:
    """bench/history-server.mjs serving a directory at the well-known history paths."""

    def __init__(self, mode, directory):
        self.proc = subprocess.Popen(["node", str(ROOT / "bench" / "history-server.mjs"), mode, str(directory)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise SystemExit(f"history server ({mode}) did not start")

    def __enter__(self):
        return self.url

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def same_output(a, b):
    """Whether two outputs are byte-identical but for the history file (its deploy date)."""
    files = lambda d: {p.relative_to(d): p for p in d.rglob("*") if p.is_file() and p.name != "asset-history.json"}
    fa, fb = files(a), files(b)
    return fa.keys() == fb.keys() and all(fa[k].read_bytes() == fb[k].read_bytes() for k in fa)


def corpus():
    src = WORK / "corpus"
    if not (src / "vendor").is_dir():
        tmp = WORK / "corpus.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        sh("bash", SHARED / "make-corpus.sh", tmp)
        tmp.rename(src)
    return src


def touch_all(src, n):
    """Appends a comment to every CSS and JS file (a release that changes them all)."""
    count = 0
    for p in src.rglob("*"):
        if p.is_file() and p.suffix in (".css", ".js", ".mjs"):
            with open(p, "ab") as f:
                f.write(f"\n/* release {n} */\n".encode())
            count += 1
    return count


def builds_bench():
    src0 = corpus()
    work = WORK / "history"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src = work / "src"
    shutil.copytree(src0, src, symlinks=True)
    nfiles = sum(1 for p in src.rglob("*") if p.is_file())
    print(f"\n== build times, dev corpus: {nfiles} files, {sum(p.stat().st_size for p in src.rglob('*') if p.is_file()) / 1e6:.1f} MB; cores: {os.cpu_count()} (one run)")
    out1 = work / "out1"
    t_cold = timed(*build(src, out1, "--no-cache", "--deploy-id", "d1"))
    css = src / CHANGED_CSS
    css.write_bytes(css.read_bytes() + b"\n.bench-changed{color:red}\n")
    ci = ["--no-cache", "--deploy-id", "d2"]
    t_dir = timed(*build(src, work / "out-dir", *ci, "--history", out1))
    with Server("static", out1) as url:
        t_url = timed(*build(src, work / "out-url", *ci, "--history", url))
    with Server("worker", out1) as url:
        t_worker = timed(*build(src, work / "out-worker", *ci, "--history", url))
    same = same_output(work / "out-dir", work / "out-url") and same_output(work / "out-dir", work / "out-worker")
    rep = json.loads(subprocess.run([*map(str, build(src, work / "out-rep", *ci, "--history", out1)), "--report", "-"],
                                    capture_output=True, text=True, check=True).stdout)
    print(f"{'build':<52}{'wall s':>8}{'÷ cold':>8}")
    print(f"{'cold (no cache, no history)':<52}{t_cold:>8.2f}{1:>8.3f}")
    print(f"{'CI, one file changed, --history DIR':<52}{t_dir:>8.2f}{t_dir / t_cold:>8.3f}")
    print(f"{'CI, one file changed, --history URL (node server)':<52}{t_url:>8.2f}{t_url / t_cold:>8.3f}")
    print(f"{'CI, one file changed, --history URL (the worker)':<52}{t_worker:>8.2f}{t_worker / t_cold:>8.3f}")
    print(f"  (CI build: {rep['cache_misses']} compressed, {rep['history_hits']} siblings from the history, "
          f"{rep['carried_files']} files carried; the three outputs identical but for the history's dates: {same})")

    # Deltas on a release that changes every CSS/JS file, twice.
    print("\n== what deltas cost: every CSS/JS file changed in deploys 2 and 3 (one run)")
    hist = work / "hist"
    sh(*build(src, hist, "--deploy-id", "r1", "--cache-dir", work / "cache"))
    changed = touch_all(src, 2)
    sh(*build(src, hist, "--deploy-id", "r2", "--history", hist, "--cache-dir", work / "cache"))
    touch_all(src, 3)
    base = ["--no-cache", "--deploy-id", "r3", "--history", hist]
    t_cold3 = timed(*build(src, work / "cold3", "--no-cache", "--deploy-id", "r3"))
    t_without = timed(*build(src, work / "nodeltas", *base, "--delta-versions", "0"))
    t_with = timed(*build(src, work / "deltas", *base))
    m = json.loads((work / "deltas" / "cdn-manifest.json").read_text())
    deltas = [d for e in m["entries"].values() if e["deploy"] == "r3" for d in e.get("deltas", [])]
    by = {c: sum(1 for d in deltas if d["encoding"] == c) for c in ("dcz", "dcb")}
    print(f"{changed} CSS/JS files changed; deploy 3 publishes {len(deltas)} deltas "
          f"({by['dcz']} dcz, {by['dcb']} dcb; {sum(d['size'] for d in deltas)} bytes)")
    print(f"{'build of deploy 3, no cache':<52}{'wall s':>8}{'÷ cold':>8}")
    print(f"{'cold (no history)':<52}{t_cold3:>8.2f}{1:>8.3f}")
    print(f"{'with the history, --delta-versions 0':<52}{t_without:>8.2f}{t_without / t_cold3:>8.3f}")
    print(f"{'with the history, deltas (defaults)':<52}{t_with:>8.2f}{t_with / t_cold3:>8.3f}")
    print(f"deltas add {(t_with - t_without) / t_cold3 * 100:.1f} % of the cold build (goal <= 20 %)")
    print(f"\ngoals: CI with history <= 0.1x cold: dir {t_dir / t_cold:.3f}, url {t_url / t_cold:.3f} "
          f"(through the worker in Miniflare {t_worker / t_cold:.3f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-pairs", action="store_true")
    ap.add_argument("--skip-builds", action="store_true")
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: run `cargo build --release -p asset-builder` first")
    if not args.skip_pairs:
        pairs_bench()
    if not args.skip_builds:
        builds_bench()


if __name__ == "__main__":
    main()
