#!/usr/bin/env bash
# Installs what `make dev` and `make test` need and is missing, pinned, and nothing else.
# Idempotent and quick when everything is there. Debian packages come from the machine's
# release (bookworm); everything else is pinned in this repository.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(php-cli php-symfony-framework-bundle php-symfony-asset php-symfony-twig-bundle
  php-twig php-symfony-yaml brotli wrk chromium zstd)
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

# --- Rust: the Wasm target and the worker's build tools (pinned, into .tools/) ----------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# worker-build must match the `worker` crate; wasm-bindgen-cli must match wasm-bindgen in
# Cargo.lock exactly (edge-worker/Cargo.toml pins both).
install_tool() { # crate version [--locked]
  local crate=$1 version=$2 root=".tools/$1-$2"
  [ "$crate" = wasm-bindgen-cli ] && root=".tools/wasm-bindgen-$2"
  [ "$crate" = worker-build ] && root=".tools/worker-build-$2"
  if [ ! -x "$root/bin/${crate%-cli}" ]; then
    log "installing $crate $version into $root (a few minutes, once)"
    cargo install "$crate" --version "$version" --root "$root" "${@:3}" --quiet
  fi
}
install_tool worker-build 0.8.7 --locked
install_tool wasm-bindgen-cli 0.2.130   # --locked fails on this registry mirror

# --- npm: wrangler, Miniflare, binaryen (pinned in package-lock.json) -------------------------
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.stamp-lock; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.stamp-lock
fi
log "ok"
