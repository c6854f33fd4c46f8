#!/usr/bin/env bash
# Regenerates every picture embedded in README.md and docs/: each is a chart hasim draws from a
# scenario of this repository. `cargo test` (tests/it/docs.rs) fails when a checked-in picture
# differs from what hasim draws now, and names this script.
#
#   bash docs/regenerate-pictures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run --release --locked -q -- run scenarios/web-tier.ron --charts "$tmp/web-tier" --chart-format png > /dev/null
cp "$tmp/web-tier/timeline.png" docs/web-tier-timeline.png
echo "regenerated docs/web-tier-timeline.png"
