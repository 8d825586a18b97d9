#!/usr/bin/env bash
# Runs the demo locally: a Symfony origin under PHP's built-in server, and the edge worker in
# front of it under `wrangler dev` (workerd), serving the built assets. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ORIGIN_PORT=8001   # must match [vars.EDGE] origin in wrangler.toml
EDGE_PORT=8787     # [dev] port in wrangler.toml
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_for() { # url what
  for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "dev: $2 did not start ($1)" >&2; exit 1
}

mkdir -p www/var/dev
APP_ORIGIN_NAME=origin-1 APP_VAR_DIR="$PWD/www/var/dev" PHP_CLI_SERVER_WORKERS=4 \
  php -S "127.0.0.1:$ORIGIN_PORT" -t www/public www/public/index.php >www/var/dev/origin.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$ORIGIN_PORT/" "the Symfony origin"

node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$EDGE_PORT" >www/var/dev/wrangler.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$EDGE_PORT/" "the edge worker (see www/var/dev/wrangler.log)"

cat <<MSG

  Demo running: http://127.0.0.1:$EDGE_PORT/
    edge worker (wrangler dev)  http://127.0.0.1:$EDGE_PORT/   log: www/var/dev/wrangler.log
    Symfony origin (php -S)     http://127.0.0.1:$ORIGIN_PORT/   log: www/var/dev/origin.log
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
