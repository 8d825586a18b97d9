#!/usr/bin/env bash
# make fuzz: runs every fuzz target for FUZZ_SECONDS (default 60) each, then RANDOM_BUILDS
# (default 200) random end-to-end builds of generated trees through the real CLI.
#
#   FUZZ_SECONDS=120 make fuzz          longer per target
#   FUZZ_TARGETS="css js" make fuzz     some targets only
#   RANDOM_SEED=42 make fuzz            replay the random builds from one seed
#   FUZZ_MAX_LEN=65536 make fuzz        longer CSS/JS inputs (fewer executions)
#
# Installs the pinned cargo-fuzz into .tools/ and nightly with rustup when missing. Seeds each
# target's corpus (fuzz/corpus/, git-ignored) from fuzz/seeds/ and, for the CSS and JS targets,
# from the real npm packages of ../shared/bench/make-corpus.sh (fetched once into
# target/bench/corpus, which `make bench` shares). A crash leaves its input in
# fuzz/artifacts/<target>/ (git-ignored) and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
seconds=${FUZZ_SECONDS:-60}
builds=${RANDOM_BUILDS:-200}
seed=${RANDOM_SEED:-$(date +%s)}
version=0.13.2
cargo_fuzz=$root/.tools/cargo-fuzz-$version/bin/cargo-fuzz
export PATH="$root/.tools/cargo-fuzz-$version/bin:$PATH"
targets=${FUZZ_TARGETS:-"css js reference manifest_json index history delta edge_path edge_headers edge_dictionary edge_urls edge_config"}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if [ ! -x "$cargo_fuzz" ]; then
  cargo install cargo-fuzz --version "$version" --locked --root "$root/.tools/cargo-fuzz-$version"
fi

npm_corpus=$root/target/bench/corpus
if [ ! -d "$npm_corpus/vendor" ]; then
  rm -rf "$npm_corpus.tmp"
  mkdir -p "$root/target/bench"
  bash "$root/../shared/bench/make-corpus.sh" "$npm_corpus.tmp"
  mv "$npm_corpus.tmp" "$npm_corpus"
fi

mkdir -p corpus logs artifacts
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
done
# Real CSS and JS from npm packages (the targets read the first FUZZ_MAX_LEN bytes, 8 KiB).
seed_npm() { # ext target
  [ -d "corpus/$2" ] || return 0
  find "$npm_corpus" -type f -name "*.$1" -size -256k -print0 |
    while IFS= read -r -d '' f; do
      cp -n "$f" "corpus/$2/npm-$(printf '%s' "${f#"$npm_corpus"/}" | tr '/' '_')"
    done
}
seed_npm css css
seed_npm js js
seed_npm json manifest_json

cargo +nightly fuzz build --sanitizer none

summary=()
failed=0
for t in $targets; do
  max_len=4096
  case $t in css|js) max_len=${FUZZ_MAX_LEN:-8192} ;; manifest_json|index|history|edge_config) max_len=16384 ;; esac
  echo "== fuzz $t for ${seconds}s"
  if cargo +nightly fuzz run --sanitizer none "$t" "corpus/$t" -- \
      -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" -close_fd_mask=1 >"logs/$t.log" 2>&1; then
    status=ok
  else
    status=CRASH
    failed=1
    tail -40 "logs/$t.log"
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "logs/$t.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
  summary+=("$(printf '%-14s %-6s %12s execs %5s s' "$t" "$status" "${runs:-?}" "${secs:-$seconds}")")
done

echo "== $builds random end-to-end builds, seed $seed"
if [ "$builds" = 0 ]; then
  summary+=("random builds   skipped (RANDOM_BUILDS=0)")
elif ! (cd "$root" && ASSET_BUILDER_RANDOM_BUILDS=$builds ASSET_BUILDER_RANDOM_SEED=$seed \
      cargo test --release -q -p asset-builder --test random_builds -- --nocapture); then
  failed=1
  summary+=("random builds   FAILED (seed $seed)")
else
  summary+=("random builds   ok     $builds builds, seed $seed")
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed
