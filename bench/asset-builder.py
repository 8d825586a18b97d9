#!/usr/bin/env python3
"""Benchmark: asset-builder against ../shared/bench/reference-pipeline.sh, in one run.

Builds the corpus from ../shared/bench/make-corpus.sh (cached under target/bench/), then times
  1. the reference pipeline (sha256sum + gzip -9 + brotli -q 11, two processes at a time),
  2. asset-builder cold (empty cache, no previous output),
  3. asset-builder warm (no change),
  4. asset-builder after changing one CSS file,
and prints wall-time ratios and the bytes a browser downloads for all compressible files when it
accepts br, and when it accepts only gzip (source maps counted apart).

usage: bench/asset-builder.py [--runs N]   (needs: cargo-built release binary, brotli, npm)
"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
WORK = ROOT / "target" / "bench"
BIN = ROOT / "target" / "release" / "asset-builder"
CHANGED_CSS = "vendor/bootstrap-5.3.3/dist/css/bootstrap.css"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def timed(*cmd):
    t = time.perf_counter()
    sh(*cmd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def corpus():
    src = WORK / "corpus"
    if not (src / "vendor").is_dir():
        tmp = WORK / "corpus.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        sh("bash", str(SHARED / "make-corpus.sh"), str(tmp))
        tmp.rename(src)
    return src


def totals_reference(src, ref_out):
    """logical path -> (identity, br, gz) sizes in the reference output."""
    sizes = {}
    for p in src.rglob("*"):
        if p.is_file():
            rel = p.relative_to(src).as_posix()
            ident = p.stat().st_size
            o = ref_out / rel
            br = Path(str(o) + ".br")
            gz = Path(str(o) + ".gz")
            sizes[rel] = (ident, br.stat().st_size if br.exists() else None,
                          gz.stat().st_size if gz.exists() else None)
    return sizes


def totals_builder(out):
    m = json.loads((out / "cdn-manifest.json").read_text())
    sizes = {}
    for e in m["entries"].values():
        enc = e.get("encodings", {})
        sizes[e["logical_path"]] = (e["size"], enc.get("br", {}).get("size"), enc.get("gzip", {}).get("size"))
    return sizes


def download(sizes, files, which):
    total = 0
    for f in files:
        ident, br, gz = sizes[f]
        alt = br if which == "br" else gz
        total += alt if alt is not None else ident
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: run `cargo build --release -p asset-builder` first")
    src = corpus()
    work_src = WORK / "src"
    shutil.rmtree(work_src, ignore_errors=True)
    shutil.copytree(src, work_src, symlinks=True)
    ref_out, out, cache = WORK / "ref-out", WORK / "out", WORK / "cache"
    nfiles = sum(1 for p in work_src.rglob("*") if p.is_file())
    print(f"corpus: {nfiles} files, {sum(p.stat().st_size for p in work_src.rglob('*') if p.is_file()) / 1e6:.1f} MB; cores: {os.cpu_count()}")

    t_ref = timed("bash", str(SHARED / "reference-pipeline.sh"), str(work_src), str(ref_out))
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    build = [str(BIN), "build", str(work_src), "--out", str(out), "--cache-dir", str(cache), "--quiet"]
    t_cold = timed(*build)
    cold_sizes = totals_builder(out)
    t_warm = timed(*build)
    css = work_src / CHANGED_CSS
    css.write_bytes(css.read_bytes() + b"\n.bench-changed{color:red}\n")
    t_one = timed(*build)

    print(f"\n{'build':<28}{'wall s':>9}{'÷ reference':>13}{'÷ cold':>9}")
    print(f"{'reference pipeline':<28}{t_ref:>9.2f}{1:>13.3f}{'':>9}")
    for name, t in [("asset-builder cold", t_cold), ("asset-builder warm", t_warm), ("asset-builder one CSS changed", t_one)]:
        print(f"{name:<28}{t:>9.2f}{t / t_ref:>13.3f}{t / t_cold:>9.3f}")

    # Bytes, on the unchanged tree (cold build) against the reference on the same tree.
    ref_sizes = totals_reference(work_src, ref_out)
    compressible = sorted(f for f in cold_sizes if cold_sizes[f][1] or cold_sizes[f][2] or ref_sizes[f][1] or ref_sizes[f][2])
    maps = [f for f in compressible if f.endswith(".map")]
    shipped = [f for f in compressible if not f.endswith(".map")]
    # The same files on both sides (the reference's extension list), to compare the encoders alone:
    # the builder's bytes there include the rewritten references (longer, fingerprinted names).
    both = [f for f in shipped if ref_sizes[f][1] is not None]
    print(f"\n{'bytes downloaded':<34}{'reference':>12}{'builder':>12}{'ratio':>8}")
    for label, files in [("compressible, no maps", shipped), ("  of which both compress", both), ("source maps", maps)]:
        for which in ("br", "gzip"):
            r, b = download(ref_sizes, files, which), download(cold_sizes, files, which)
            print(f"{label + ' (' + which + ')':<34}{r:>12}{b:>12}{b / r:>8.4f}")
    print(f"\ngoals: cold ≤ 0.8× reference ({t_cold / t_ref:.3f}), warm ≤ 0.05× cold ({t_warm / t_cold:.3f}), "
          f"one change ≤ 0.1× cold ({t_one / t_cold:.3f}), byte ratios (no maps) ≤ 1")


if __name__ == "__main__":
    main()
