#!/usr/bin/env bash
# Runs the demo locally: three Symfony origins under PHP's built-in server in two pools
# (dc1: 8001, 8002; dc2: 8003, as wrangler.toml says) and the edge worker in front of them under
# `wrangler dev` (workerd), serving the built assets.
#
# Kill an origin to watch failover: the demo keeps running, says so, and prints the command that
# brings the origin back (the origin so brought back is adopted: the demo stops it too). Ctrl-C
# (or any exit) stops every process it started — PHP's worker processes and workerd included
# (each runs in its own process group) — and frees the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
EDGE_PORT=8787     # [dev] port in wrangler.toml
ORIGINS=(dc1-a:8001 dc1-b:8002 dc2-a:8003)
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
say() { printf '\033[1mdev:\033[0m %s\n' "$*"; }

declare -A group=()   # name → process-group id of what this script started
stopping=0
cleanup() {
  stopping=1
  for name in "${!group[@]}"; do kill -TERM -- "-${group[$name]}" 2>/dev/null || true; done
  sleep 0.5
  for name in "${!group[@]}"; do kill -KILL -- "-${group[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

busy=()
for spec in "${ORIGINS[@]}" "edge:$EDGE_PORT"; do
  port=${spec##*:}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$port"); fi
done
if ((${#busy[@]})); then
  say "port(s) ${busy[*]} already in use (another \`make dev\`?); stop that first" >&2
  exit 1
fi

wait_for() { # url what
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  say "$2 did not start ($1)" >&2; exit 1
}

# Secrets shared by the worker (.dev.vars) and the origins (environment).
if [ ! -f .dev.vars ]; then
  key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  token=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  printf 'EDGE_ORIGIN_KEY="%s"\nEDGE_HEALTH_TOKEN="%s"\n' "$key" "$token" > .dev.vars
  say "created .dev.vars with fresh secrets"
fi
EDGE_HEALTH_TOKEN=$(sed -n 's/^EDGE_HEALTH_TOKEN="\(.*\)"$/\1/p' .dev.vars)

mkdir -p www/var/dev
for spec in "${ORIGINS[@]}"; do
  name=${spec%%:*} port=${spec##*:}
  setsid scripts/dev-origin.sh "$name" >"www/var/dev/$name.log" 2>&1 &
  group[$name]=$!
  wait_for "http://127.0.0.1:$port/orders" "the Symfony origin $name"
done

setsid node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$EDGE_PORT" >www/var/dev/wrangler.log 2>&1 &
group[edge]=$!
wait_for "http://127.0.0.1:$EDGE_PORT/" "the edge worker (see www/var/dev/wrangler.log)"

cat <<MSG

  Demo running: http://127.0.0.1:$EDGE_PORT/

    edge worker (wrangler dev)  http://127.0.0.1:$EDGE_PORT/        log: www/var/dev/wrangler.log
    origins, pool dc1           127.0.0.1:8001 (dc1-a), 127.0.0.1:8002 (dc1-b)
    origin,  pool dc2           127.0.0.1:8003 (dc2-a)          logs: www/var/dev/*.log
    edge health                 curl -H "Authorization: Bearer $EDGE_HEALTH_TOKEN" http://127.0.0.1:$EDGE_PORT/__edge/health

  Reload the page to see the origins take turns. Kill one to watch failover, e.g.
    pkill -f 'php -S 127.0.0.1:8001'      (or both of dc1: 8001 and 8002)
  and bring it back with   scripts/dev-origin.sh dc1-a   (in another terminal).
  Ctrl-C stops everything.

MSG

# The process group of the demo origin that listens on `port` again (brought back with
# scripts/dev-origin.sh in another terminal), when its leader is that origin's PHP server:
# adopted, so that Ctrl-C here stops it too and frees the port.
revived() { # port
  local pid pgid
  pid=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2) || true
  [ -n "$pid" ] || return 1
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || true
  [ -n "$pgid" ] && ps -o args= -p "$pgid" 2>/dev/null | grep -q "php -S 127.0.0.1:$1 " || return 1
  echo "$pgid"
}

# Watch what was started: an origin that dies is reported (the demo goes on) and adopted again
# when it comes back; the edge dying ends the demo.
declare -A down=()   # name → port of an origin that stopped
while sleep 1; do
  for name in "${!down[@]}"; do
    pgid=$(revived "${down[$name]}") || continue
    group[$name]=$pgid
    unset "down[$name]"
    say "origin $name is back; the edge sends it traffic again once its ejection ends (Ctrl-C here stops it too)"
  done
  for name in "${!group[@]}"; do
    kill -0 "${group[$name]}" 2>/dev/null && continue
    ((stopping)) && exit 0
    if [ "$name" = edge ]; then
      say "the edge worker stopped (see www/var/dev/wrangler.log); stopping the demo" >&2
      exit 1
    fi
    kill -KILL -- "-${group[$name]}" 2>/dev/null || true   # its PHP workers too: free the port
    unset "group[$name]"
    for spec in "${ORIGINS[@]}"; do [ "${spec%%:*}" = "$name" ] && down[$name]=${spec##*:}; done
    say "origin $name stopped; the edge fails over. Bring it back with: scripts/dev-origin.sh $name"
  done
done
