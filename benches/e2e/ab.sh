#!/usr/bin/env bash
# Alternating A/B runs of run.sh's router leg for two (or more) smpp-router binaries, with the
# router's CPU time and memory read by measure.py. One line per run on stdout:
#   label pair router_msg_s direct_msg_s ratio p50_ms p99_ms matched missing cpu_ticks hwm_kb
#
#   benches/e2e/ab.sh [--pairs N] [--count N] [--rate R] LABEL=BINARY LABEL=BINARY ...
#
# With --rate the bench offers R submits/s in both legs (smpp-bench --rate) instead of running
# flat out, so every router sees the same load. That is another regime: at 25,000/s submits
# arrive one by one and per-wakeup costs dominate (~29 µs of router CPU per message against
# ~15 flat out), but one binary's CPU varied by 1–18 % between runs there against ~35 % at
# saturation, where CPU per message moves with the rate the noisy machine allowed.
#
# The bench and simulator come from $CARGO_TARGET_DIR/release (run.sh --no-build), the same for
# every run, so only the router differs. A BINARY that is a directory holds all three
# (smpp-router, smpp-sim, smpp-bench), to compare builds of the tools as well; tools older than
# 8a6ab82 have no --workers, so compare them with E2E_TOOL_WORKERS= (every label then runs its
# tools on their default threads). CPU ticks are 1/100 s, for the whole leg, the router's only.
set -euo pipefail
pairs=3
count=100000
rate_args=()
while (($#)); do
    case $1 in
        --pairs) pairs=$2; shift 2 ;;
        --count) count=$2; shift 2 ;;
        --rate) rate_args=(--rate "$2"); shift 2 ;;
        *) break ;;
    esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-ab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for ((p = 1; p <= pairs; p++)); do
    for spec in "$@"; do
        label=${spec%%=*} bin=${spec#*=}
        rm -rf "$tmp/out" "$tmp/m" "$tmp/target"
        target=${CARGO_TARGET_DIR:-}
        if [[ -d $bin ]]; then
            # run.sh takes the tools from $CARGO_TARGET_DIR/release.
            mkdir -p "$tmp/target/release"
            for t in smpp-sim smpp-bench; do ln -s "$(cd "$bin" && pwd)/$t" "$tmp/target/release/$t"; done
            target=$tmp/target bin=$bin/smpp-router
        fi
        E2E_RELAY=0 CARGO_TARGET_DIR=$target ROUTER_REAL=$bin MEASURE_OUT=$tmp/m ROUTER_BIN=$here/measure.py \
            "$here/run.sh" --count "$count" "${rate_args[@]}" --no-build --out "$tmp/out" >/dev/null 2>"$tmp/err" || true
        r=$tmp/out/router.json d=$tmp/out/direct.json
        if [[ ! -s $r ]]; then
            # A leg without a report: keep what it left, to find out why.
            keep=$(mktemp -d "${TMPDIR:-/tmp}/e2e-ab-failed.XXXXXX")
            cp -r "$tmp/out" "$tmp/err" "$keep/" 2>/dev/null || true
            echo "$label pair $p: no router report; its logs are in $keep" >&2
        fi
        read -r _ cpu hwm _ _ <"$tmp/m" || { cpu=? hwm=?; }
        rm=$(jq -r '.throughput | round' "$r" 2>/dev/null || echo ?)
        dm=$(jq -r '.throughput | round' "$d" 2>/dev/null || echo ?)
        ratio=$(awk -v a="$rm" -v b="$dm" 'BEGIN { if (b + 0 == 0) print "?"; else printf "%.2f", a / b }')
        printf '%s %d %s %s %s %s %s %s %s %s %s\n' "$label" "$p" "$rm" "$dm" "$ratio" \
            "$(jq -r '.submit_latency_ms.p50' "$r" 2>/dev/null || echo ?)" \
            "$(jq -r '.submit_latency_ms.p99' "$r" 2>/dev/null || echo ?)" \
            "$(jq -r '.receipts.matched' "$r" 2>/dev/null || echo ?)" \
            "$(jq -r '.receipts.missing' "$r" 2>/dev/null || echo ?)" "$cpu" "$hwm"
    done
done
