#!/usr/bin/env bash
# make deploy-history-check: what a CI deploy with a history uploads. Three builds of www/assets
# into one output (app.js changed each time), each with --history of the previous output, then
# `wrangler deploy --dry-run` of that output (the bundle, the bindings, and the assets wrangler
# would upload: every kept deploy's files, siblings and deltas, within its limits).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=target/deploy-history
rm -rf "$work"
mkdir -p "$work"
cp -r www/assets "$work/src"
for n in 1 2 3; do
  printf '\n// deploy %s\nexport const DEPLOY = %s;\n' "$n" "$n" >>"$work/src/js/app.js"
  target/release/asset-builder build "$work/src" --out "$work/build" --strict --quiet \
    --no-fingerprint 'errors/**' --history "$work/build" --history-optional --deploy-id "check-$n" \
    --delta-min-size 256
done
python3 - "$work/build" <<'PY'
import json, sys
out = sys.argv[1]
h = json.load(open(f"{out}/asset-history.json"))
ids = [d["id"] for d in h["deploys"]]
assert ids == ["check-3", "check-2", "check-1"], ids
m = json.load(open(f"{out}/cdn-manifest.json"))
apps = [e for e in m["entries"].values() if e["logical_path"] == "js/app.js"]
assert len(apps) == 3, len(apps)
assert any(e.get("deltas") for e in apps), "no deltas"
print(f"deploy-history-check: {out} holds deploys {', '.join(ids)}; "
      f"{sum(len(e.get('deltas', [])) for e in m['entries'].values())} deltas")
PY
CI=1 node_modules/.bin/wrangler deploy --dry-run --outdir target/wrangler-dry-run-history --assets "$work/build"
