#!/usr/bin/env bash
# Runs one of the demo's Symfony origins (as wrangler.toml's pools name them) in the foreground
# under PHP's built-in server: `scripts/dev-origin.sh dc1-a`. `make dev` starts all three with
# this script; after killing one to watch failover, run it again (another terminal) to bring
# the origin back into rotation. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A PORTS=([dc1-a]=8001 [dc1-b]=8002 [dc2-a]=8003)
name=${1:-}
if [ -z "$name" ] || [ -z "${PORTS[$name]:-}" ]; then
  echo "usage: scripts/dev-origin.sh NAME   (NAME: ${!PORTS[*]})" >&2
  exit 2
fi
port=${PORTS[$name]}
if [ ! -f .dev.vars ]; then
  echo "dev-origin: .dev.vars is missing; run \`make dev\` once to create it" >&2
  exit 1
fi
key=$(sed -n 's/^EDGE_ORIGIN_KEY="\(.*\)"$/\1/p' .dev.vars)
mkdir -p "www/var/dev/$name"
# Symfony's prod cache does not notice changed templates or config: start from a fresh one.
rm -rf "www/var/dev/$name/cache"
# One process group per origin (PHP_CLI_SERVER_WORKERS forks workers): whoever stops it stops
# them all, and the port is free again.
exec env EDGE_ORIGIN_KEY="$key" APP_ORIGIN_NAME="$name" APP_VAR_DIR="$PWD/www/var/dev/$name" \
  PHP_CLI_SERVER_WORKERS=4 php -S "127.0.0.1:$port" -t www/public www/public/index.php
