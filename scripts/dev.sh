#!/usr/bin/env bash
# Runs the demo locally: three Symfony origins under PHP's built-in server in two pools
# (dc1: 8001, 8002; dc2: 8003, as wrangler.toml says) and the edge worker in front of them under
# `wrangler dev` (workerd), serving the built assets. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
EDGE_PORT=8787     # [dev] port in wrangler.toml
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_for() { # url what
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "dev: $2 did not start ($1)" >&2; exit 1
}

# Secrets shared by the worker (.dev.vars) and the origins (environment).
if [ ! -f .dev.vars ]; then
  key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  token=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  printf 'EDGE_ORIGIN_KEY="%s"\nEDGE_HEALTH_TOKEN="%s"\n' "$key" "$token" > .dev.vars
  echo "dev: created .dev.vars with fresh secrets"
fi
EDGE_ORIGIN_KEY=$(sed -n 's/^EDGE_ORIGIN_KEY="\(.*\)"$/\1/p' .dev.vars)
EDGE_HEALTH_TOKEN=$(sed -n 's/^EDGE_HEALTH_TOKEN="\(.*\)"$/\1/p' .dev.vars)

mkdir -p www/var/dev
for spec in dc1-a:8001 dc1-b:8002 dc2-a:8003; do
  name=${spec%%:*} port=${spec##*:}
  mkdir -p "www/var/dev/$name"
  EDGE_ORIGIN_KEY=$EDGE_ORIGIN_KEY APP_ORIGIN_NAME=$name APP_VAR_DIR="$PWD/www/var/dev/$name" PHP_CLI_SERVER_WORKERS=4 \
    php -S "127.0.0.1:$port" -t www/public www/public/index.php >"www/var/dev/$name.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/orders" "the Symfony origin $name"
done

node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$EDGE_PORT" >www/var/dev/wrangler.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$EDGE_PORT/" "the edge worker (see www/var/dev/wrangler.log)"

cat <<MSG

  Demo running: http://127.0.0.1:$EDGE_PORT/

    edge worker (wrangler dev)  http://127.0.0.1:$EDGE_PORT/        log: www/var/dev/wrangler.log
    origins, pool dc1           127.0.0.1:8001 (dc1-a), 127.0.0.1:8002 (dc1-b)
    origin,  pool dc2           127.0.0.1:8003 (dc2-a)          logs: www/var/dev/*.log
    edge health                 curl -H "Authorization: Bearer $EDGE_HEALTH_TOKEN" http://127.0.0.1:$EDGE_PORT/__edge/health

  Reload the page to see the origins take turns; kill one (or both of dc1) to watch failover.
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
