#!/usr/bin/env bash
# What the consent policies cost (issue 7, "Performance"): benches/e2e's router leg run with
# every policy off and with every policy on and a suppression list of 10 million numbers
# loaded, alternating, with the same binaries, so each pair's ratio compares runs made under
# the same machine load.
#
#   benches/consent/run.sh [--count N] [--pairs P] [--numbers M] [--no-build]
#
# Policies on: opt-outs enforced against M globally suppressed numbers (imported from a CSV at
# start), every message marketing (so the quiet-hours check, with the zone lookup, and the
# frequency caps run for each one), caps high enough that none is refused, and a quiet-hours
# window that contains the run's hour in every zone the bench's numbers (1555…, North America)
# map to, so nothing is held (a held message would never get its receipt inside the run).
# The suppressed numbers (1666…) are ones the bench never texts: every message must still go.
# Policies off: enforce = false, quiet_hours = "off", nothing marketing.
#
# Prints a markdown table (router msg/s and submit p99 per leg, the on/off ratio per pair and
# their mean). CARGO_TARGET_DIR is respected; E2E_* variables pass through to benches/e2e.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=100000 pairs=3 numbers=10000000 build=1
while (($#)); do
    case $1 in
        --count) count=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        --numbers) numbers=$2; shift 2 ;;
        --no-build) build=; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
target=${CARGO_TARGET_DIR:-$root/target}
if [[ -n $build ]]; then
    (cd "$root" && cargo build --release --quiet -p smpp-tools -p smpp-router)
fi
export ROUTER_BIN=${ROUTER_BIN:-$target/release/smpp-router}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "writing $numbers suppressed numbers" >&2
seq 16660000000 $((16660000000 + numbers - 1)) >"$work/suppressed.csv"

# The window excludes only [now+30m, now+60m) in local time: no zone from UTC-10 to UTC-0:30
# (nor UTC itself) is in it during the run.
start=$(date -u -d '+60 min' +%H:%M)
end=$(date -u -d '+30 min' +%H:%M)
template=$root/benches/e2e/router.toml.in
grep -q '^max_binds = 16$' "$template" || { echo "$template changed: no account line to extend" >&2; exit 2; }
sed 's|^max_binds = 16$|max_binds = 16\nconsent = { enforce = false, quiet_hours = "off" }|' \
    "$template" >"$work/off.toml.in"
{
    sed "s|^max_binds = 16\$|max_binds = 16\nconsent = { marketing = true, quiet_hours = \"$start-$end\", max_per_day = 1000000, max_per_week = 1000000 }|" \
        "$template"
    printf '\n[[suppression_imports]]\nfile = "%s"\nscope = "global"\n' "$work/suppressed.csv"
} >"$work/on.toml.in"

leg() { # leg NAME PAIR: one benches/e2e run with the NAME template; prints "msg/s p99 matched"
    local out=$work/$1-$2
    mkdir -p "$out"
    E2E_RELAY=0 ROUTER_TEMPLATE=$work/$1.toml.in "$root/benches/e2e/run.sh" --count "$count" --no-build \
        --out "$out" >"$out/table.md" 2>"$out/log" || true
    jq -r '[(.throughput | round), .submit_latency_ms.p99, (.receipts.matched // 0)] | @tsv' \
        "$out/router.json" 2>/dev/null || echo "– – –"
}

printf '# Consent policies: off vs on (%s suppressed numbers), %s messages per leg\n\n' "$numbers" "$count"
printf '%s, %s cores, load %s, commit %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$(git -C "$root" describe --always --dirty)"
echo "| pair | off msg/s | off p99 ms | on msg/s | on p99 ms | on/off | receipts matched (off, on) |"
echo "|---:|---:|---:|---:|---:|---:|---|"
ratios=()
for ((i = 1; i <= pairs; i++)); do
    read -r off_rate off_p99 off_matched < <(leg off "$i")
    read -r on_rate on_p99 on_matched < <(leg on "$i")
    ratio=$(awk -v a="$on_rate" -v b="$off_rate" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "–" }')
    ratios+=("$ratio")
    echo "| $i | $off_rate | $off_p99 | $on_rate | $on_p99 | $ratio | $off_matched, $on_matched |"
done
mean=$(printf '%s\n' "${ratios[@]}" | awk '$1 != "–" { s += $1; n++ } END { if (n) printf "%.3f", s / n; else print "–" }')
printf '\nmean on/off: %s\n' "$mean"
