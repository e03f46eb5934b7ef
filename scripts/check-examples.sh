#!/usr/bin/env bash
# Every example installed as a team would install jobscope: from the tarball `npm pack` makes (so
# only what the package ships: dist/, drizzle/, schema.graphql), in a folder outside the
# repository, then checked running (`npm run check`). One `example <name>: ok` line each; the
# first failure stops it, with that example's output.
#
#   npm run examples:check                     every example
#   EXAMPLES="express hono" npm run examples:check
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/jobscope-examples.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -n "${EXAMPLES:-}" ]]; then
  read -r -a names <<<"$EXAMPLES"
else
  names=()
  for dir in examples/*/; do
    [[ -f "$dir/package.json" ]] && names+=("$(basename "$dir")")
  done
fi

elapsed() { echo "$(($(date +%s) - $1)) s"; }

# A registry request can stall without npm's own fetch timeout firing (seen here: one packument
# fetch hung for 20 min). An install takes under a minute, so one still running after 5 is
# stopped and tried once more; a second failure is the example's.
install_tarball() {
  npm pkg set "dependencies.jobscope=file:$tarball"
  for attempt in 1 2; do
    if timeout --kill-after=10 300 npm install --no-audit --no-fund; then return 0; fi
    echo "npm install failed or stalled (attempt $attempt of 2)"
  done
  return 1
}

began=$(date +%s)
if ! npm pack --pack-destination "$work" >"$work/pack.log" 2>&1; then
  echo "npm pack failed:"
  cat "$work/pack.log"
  exit 1
fi
tarball=$(ls "$work"/jobscope-*.tgz)
echo "packed $(basename "$tarball") in $(elapsed "$began")"

# Each example imports the shared contract as ../check/contract.mjs.
cp -R examples/check "$work/check"

for name in "${names[@]}"; do
  dir="$work/$name"
  log="$work/$name.log"
  # The example's own files only: not a node_modules, build or database left by a local run.
  mkdir -p "$dir"
  tar -C "examples/$name" --exclude=node_modules --exclude=.next --exclude=.data --exclude=logs \
    --exclude=package-lock.json --exclude=next-env.d.ts -cf - . | tar -C "$dir" -xf -
  started=$(date +%s)
  if ! (cd "$dir" && install_tarball) >"$log" 2>&1; then
    echo "example $name: FAILED (npm install)"
    cat "$log"
    exit 1
  fi
  installed=$(elapsed "$started")
  checking=$(date +%s)
  if ! (cd "$dir" && npm run check) >>"$log" 2>&1; then
    echo "example $name: FAILED (npm run check)"
    cat "$log"
    exit 1
  fi
  echo "example $name: ok (install $installed, check $(elapsed "$checking"))"
done
echo "examples: ${#names[@]} ok in $(elapsed "$began")"
