#!/usr/bin/env bash
# Scale benchmark: replay a generated scenario of N pods, run through in waves of
# LIVE (default 100) pods alive at once, against the static C plugin with 2 pod workers, and
# report execnet's wall time and peak RSS for each N (flat in N: memory follows the live pods).
# The transcript is streamed to a file (--transcript) and to stdout (discarded here), never held
# in memory; the scenario file is a few lines whatever N (a pod template and a `repeat`).
#   [LIVE=W] benches/scale.sh [N ...]          (default: 1000 10000 100000)
# Needs: cc, GNU time (/usr/bin/time). Builds execnet in release mode first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
exe=target/release/execnet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins/static-c"
cc -O2 -static -o "$work/plugins/static-c/static-c" benches/plugin/static_status.c
live=${LIVE:-100}
echo "live pods: $live; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %10s %14s %12s\n' pods wall_s peak_rss_kib transcript_mb
for n in "${@:-1000 10000 100000}"; do
  for pods in $n; do
    "$exe" scenarios generate --pods "$pods" --live "$live" >"$work/scale.json"
    /usr/bin/time -f '%e %M' -o "$work/time" \
      "$exe" replay --plugin-dir "$work/plugins" --plugin static-c --jobs 2 --format json \
      --transcript "$work/t.jsonl" "$work/scale.json" >/dev/null
    read -r wall rss <"$work/time"
    printf '%8s %10s %14s %12s\n' "$pods" "$wall" "$rss" "$(( $(stat -c %s "$work/t.jsonl") / 1000000 ))"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
