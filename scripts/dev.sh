#!/usr/bin/env bash
# Runs the demo locally: the Symfony app under PHP's built-in server with the built assets.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${DEV_PORT:-8000}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

APP_ORIGIN_NAME=origin-1 PHP_CLI_SERVER_WORKERS=4 php -S "127.0.0.1:$PORT" -t www/public www/public/index.php \
  >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || { echo "the Symfony app did not start" >&2; exit 1; }
echo
echo "  Demo running: http://127.0.0.1:$PORT/   (Ctrl-C to stop)"
echo
wait
