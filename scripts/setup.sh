#!/usr/bin/env bash
# Installs what `make dev` and `make test` need and is missing, pinned, and nothing else.
# Idempotent and quick when everything is there. Debian packages come from the machine's
# release (bookworm); everything else is pinned in this repository.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(php-cli php-symfony-framework-bundle php-symfony-asset php-symfony-twig-bundle
  php-twig php-symfony-yaml brotli wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "ok"
