#!/usr/bin/env bash
# The end-to-end benchmark: `smpp-bench` → `smpp-sim` directly, `smpp-bench` → `e2e-relay` →
# `smpp-sim` (a proxy that does no SMPP work: the most a process in the middle can let through),
# and `smpp-bench` → `smpp-router` → `smpp-sim` when the router can be started, in one run on
# 127.0.0.1. Prints a markdown table with one column per leg and the ratios to direct (see
# README.md here). E2E_RELAY=0 skips the relay leg.
#
#   benches/e2e/run.sh [--count N] [--sessions S] [--window W] [--rate R] [--out DIR] [--no-build]
#
# Every process it starts is stopped on exit (also on ctrl-c), and every step has a time limit.
set -euo pipefail

count=200000
sessions=4
window=100
rate=""   # submits per second over all sessions; empty: flat out
out_dir=""
build=1
leg_timeout=${E2E_LEG_TIMEOUT:-600}     # seconds one bench run may take, receipts included
build_timeout=${E2E_BUILD_TIMEOUT:-1800} # seconds the release build may take
receipt_wait=${E2E_RECEIPT_WAIT:-60}     # seconds the bench waits for the last receipts
# Runtime threads of smpp-sim and smpp-bench: one each, so that on a small machine the tools'
# threads do not outnumber the router's in the scheduler (README.md). Empty: the tools' default.
tool_workers=${E2E_TOOL_WORKERS-1}
relay_leg=${E2E_RELAY:-1}

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --count) count=$2; shift 2 ;;
        --sessions) sessions=$2; shift 2 ;;
        --window) window=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --out) out_dir=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h | --help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done
for n in "$count" "$sessions" "$window"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "run.sh needs jq" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}
[[ $target = /* ]] || target=$root/$target
work=$(mktemp -d "${TMPDIR:-/tmp}/smpp-e2e.XXXXXX")
[[ -n $out_dir ]] && mkdir -p "$out_dir"

# --- everything started is stopped on exit ----------------------------------------------------
pids=()
stop() { # stop PID (one this script started): SIGINT, then SIGKILL after 10 s
    local pid=$1 i p rest=()
    for p in "${pids[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
    pids=("${rest[@]}")
    kill -INT "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    while ((${#pids[@]})); do stop "${pids[0]}"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP
trap 'echo "e2e: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

note() { echo "e2e: $*" >&2; }

# --- build -------------------------------------------------------------------------------------
if ((build)); then
    note "building release binaries (cargo build --release -p smpp-tools -p smpp-testkit)"
    timeout "$build_timeout" cargo build --release --quiet -p smpp-tools -p smpp-testkit
fi
sim_bin=$target/release/smpp-sim
bench_bin=$target/release/smpp-bench
relay_bin=$target/release/e2e-relay
((relay_leg)) || relay_bin=""
for b in "$sim_bin" "$bench_bin" $relay_bin; do
    [[ -x $b ]] || { echo "missing $b (run without --no-build)" >&2; exit 2; }
done

# The router leg needs an `smpp-router` binary (ROUTER_BIN, or the workspace's bin target, built
# here) and a config template (ROUTER_TEMPLATE, or benches/e2e/router.toml.in) with these
# placeholders:
#   @ROUTER_ADDR@ (its SMPP listener), @METRICS_ADDR@, @SIM_ADDR@ (the carrier), @DATA_DIR@,
#   @SYSTEM_ID@ / @PASSWORD@ (the account the bench binds with; the template holds its hash).
router_bin=${ROUTER_BIN:-}
router_skip=""
router_template=${ROUTER_TEMPLATE:-$root/benches/e2e/router.toml.in}
if [[ -z $router_bin ]]; then
    if cargo metadata --no-deps --format-version 1 2>/dev/null |
        jq -e '.packages[].targets[] | select(.name == "smpp-router" and (.kind | index("bin")))' \
            >/dev/null; then
        if ((build)); then
            note "building smpp-router"
            timeout "$build_timeout" cargo build --release --quiet -p smpp-router --bin smpp-router ||
                router_skip="smpp-router did not build"
        fi
        router_bin=$target/release/smpp-router
    else
        router_skip="no smpp-router binary in the workspace yet"
    fi
fi
if [[ -z $router_skip && ! -x $router_bin ]]; then
    router_skip="no smpp-router binary at $router_bin"
fi
if [[ -z $router_skip && ! -f $router_template ]]; then
    router_skip="no router config template ($router_template)"
fi

# --- helpers -----------------------------------------------------------------------------------
# listening_on NAME ERRFILE PID: waits (10 s, while PID lives) for the line "NAME listening on
# ADDR" that NAME prints first on stderr, and prints ADDR; fails if none comes (which, assigned
# under `set -e`, ends the script).
listening_on() {
    local name=$1 err=$2 pid=$3 i line=""
    for ((i = 0; i < 100; i++)); do
        line=$(head -n1 "$err" 2>/dev/null || true)
        [[ $line == "$name listening on "* ]] && { echo "${line#"$name" listening on }"; return; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$name did not start: $(cat "$err")" >&2
    exit 1
}

# start_sim NAME: starts smpp-sim on a free port; sets sim_pid and sim_addr.
start_sim() {
    local name=$1
    # --duration bounds its life even if this script is killed with SIGKILL.
    # E2E_SIM_ARGS: more smpp-sim flags for both legs (e.g. "--stray-dlr-share 0.01").
    # shellcheck disable=SC2086
    "$sim_bin" --listen 127.0.0.1:0 --json --duration "$((leg_timeout + 120))s" \
        ${tool_workers:+--workers "$tool_workers"} ${E2E_SIM_ARGS:-} \
        >"$work/$name-sim.json" 2>"$work/$name-sim.err" &
    sim_pid=$!
    pids+=("$sim_pid")
    sim_addr=$(listening_on smpp-sim "$work/$name-sim.err" "$sim_pid")
}

# free_port: a port on 127.0.0.1 nothing listens on (for listeners that cannot take port 0).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# wait_port ADDR PID: until something accepts on ADDR (15 s), while PID lives.
wait_port() {
    local host=${1%:*} port=${1##*:} pid=$2 i
    for ((i = 0; i < 150; i++)); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# run_bench NAME ADDR [ID PASSWORD]: smpp-bench --json against ADDR into $work/NAME.json;
# sets bench_status (0 ok, 1 receipts missing, 2 could not bind, 124 timed out).
run_bench() {
    local name=$1 addr=$2 id=${3:-bench} pw=${4:-bench} pid
    note "$name: $count messages, $sessions sessions × window $window, receipts on"
    # In the background so that a signal to this script reaches the trap, which stops it.
    timeout --signal=INT --kill-after=15 "$leg_timeout" \
        "$bench_bin" --connect "$addr" --system-id "$id" --password "$pw" \
        --sessions "$sessions" --window "$window" --count "$count" \
        ${rate:+--rate "$rate"} ${tool_workers:+--workers "$tool_workers"} --registered-delivery --receipt-wait "$receipt_wait" --json \
        >"$work/$name.json" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    bench_status=0
    wait "$pid" || bench_status=$?
    if ! jq -e . "$work/$name.json" >/dev/null 2>&1; then
        echo "$name: smpp-bench gave no report (exit $bench_status): $(cat "$work/$name.err")" >&2
        bench_status=2
    fi
}

keep() { [[ -z $out_dir ]] || cp "$work"/"$1"* "$out_dir"/ 2>/dev/null || true; }

# tree_pids PID: PID and its descendants that are still there, one a line.
tree_pids() {
    local p todo=("$1")
    while ((${#todo[@]})); do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        [[ -r /proc/$p/stat ]] || continue
        echo "$p"
        # shellcheck disable=SC2207
        todo+=($(pgrep -P "$p" 2>/dev/null || true))
    done
}

# tree_cpu PID: CPU seconds (user + system) PID and its descendants have used so far, from
# /proc (empty where there is none). For the router, which reports no CPU time of its own.
tree_cpu() {
    local hz ticks=0 p
    [[ -r /proc/$1/stat ]] && hz=$(getconf CLK_TCK 2>/dev/null) || return 0
    for p in $(tree_pids "$1"); do
        # The command name may hold spaces: fields are counted after its closing parenthesis.
        ticks=$((ticks + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }'
}

# busiest_thread PID: CPU seconds of the busiest thread of PID and its descendants so far (empty
# where there is none). A thread near the leg's wall time is what holds the leg; none near it
# means the leg waits.
busiest_thread() {
    local hz p stats=()
    [[ -r /proc/$1/stat ]] && hz=$(getconf CLK_TCK 2>/dev/null) || return 0
    for p in $(tree_pids "$1"); do stats+=(/proc/"$p"/task/*/stat); done
    cat "${stats[@]}" 2>/dev/null |
        awk -v hz="$hz" '{ sub(/.*\) /, ""); t = $12 + $13; if (t > m) m = t } END { printf "%.3f", m / hz }'
}

# measured_leg NAME ADDR PID: runs the bench against ADDR, where PID (the process in the middle)
# listens, and sets NAME_status, NAME_wall, NAME_cpu and NAME_thread.
measured_leg() {
    local started
    started=${EPOCHREALTIME:-}
    run_bench "$1" "$2"
    printf -v "$1_status" '%s' "$bench_status"
    printf -v "$1_wall" '%s' "$(wall_since "$started")"
    printf -v "$1_cpu" '%s' "$(tree_cpu "$3")"
    printf -v "$1_thread" '%s' "$(busiest_thread "$3")"
}

# --- the legs ----------------------------------------------------------------------------------
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
# wall_since START: seconds since START (an $EPOCHREALTIME reading, "" without bash 5).
wall_since() {
    local now=${EPOCHREALTIME:-}
    [[ -n $1 && -n $now ]] || return 0
    # The decimal separator follows the locale.
    awk -v a="${1/,/.}" -v b="${now/,/.}" 'BEGIN { print b - a }'
}

start_sim direct
direct_started=${EPOCHREALTIME:-}
run_bench direct "$sim_addr"
direct_wall=$(wall_since "$direct_started")
direct_status=$bench_status
stop "$sim_pid"
keep direct

relay_status=""
if [[ -n $relay_bin ]]; then
    start_sim relay
    "$relay_bin" 127.0.0.1:0 "$sim_addr" "$((leg_timeout + 120))" 2>"$work/relay.err" &
    relay_pid=$!
    pids+=("$relay_pid")
    relay_addr=$(listening_on e2e-relay "$work/relay.err" "$relay_pid")
    measured_leg relay "$relay_addr" "$relay_pid"
    stop "$relay_pid"
    stop "$sim_pid"
    keep relay
fi

router_status=""
if [[ -z $router_skip ]]; then
    start_sim router
    router_addr=127.0.0.1:$(free_port)
    metrics_addr=127.0.0.1:$(free_port)
    mkdir -p "$work/router-data"
    sed -e "s|@ROUTER_ADDR@|$router_addr|g" -e "s|@METRICS_ADDR@|$metrics_addr|g" \
        -e "s|@SIM_ADDR@|$sim_addr|g" -e "s|@DATA_DIR@|$work/router-data|g" \
        -e "s|@SYSTEM_ID@|bench|g" -e "s|@PASSWORD@|bench|g" \
        "$router_template" >"$work/router.toml"
    # The one line to adapt once the daemon's command line is settled.
    "$router_bin" --config "$work/router.toml" >"$work/router.out" 2>"$work/router.log" &
    router_pid=$!
    pids+=("$router_pid")
    if wait_port "$router_addr" "$router_pid"; then
        measured_leg router "$router_addr" "$router_pid"
    else
        router_skip="smpp-router did not listen on $router_addr: $(tail -n3 "$work/router.log")"
    fi
    stop "$router_pid"
    stop "$sim_pid"
    keep router
fi

# --- the table ---------------------------------------------------------------------------------
# metric NAME FILE: one number from a bench report ("" when the leg did not run).
metric() {
    [[ -f $2 ]] && jq -r "$1 // empty" "$2" 2>/dev/null || true
}
fmt() { # a number for the table: integers as they are, others with 2 decimals
    [[ -z $1 ]] && { echo "–"; return; }
    awk -v v="$1" 'BEGIN { if (v == int(v)) printf "%d", v; else printf "%.2f", v }'
}
ratio() {
    [[ -z $1 || -z $2 ]] && { echo "–"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "–"; else printf "%.2f", a / b }'
}
row() { # row LABEL JQ-EXPR [ratio]
    local d l r
    d=$(metric "$2" "$work/direct.json")
    l=$(metric "$2" "$work/relay.json")
    r=$(metric "$2" "$work/router.json")
    printf '| %s | ' "$1"
    if [[ ${3:-} == ratio ]]; then
        printf '%s | %s | %s | %s | %s |\n' "$(fmt "$d")" "$(fmt "$l")" "$(fmt "$r")" \
            "$(ratio "$l" "$d")" "$(ratio "$r" "$d")"
    else
        printf '%s | %s | %s | | |\n' "$(fmt "$d")" "$(fmt "$l")" "$(fmt "$r")"
    fi
}
status_text() {
    case $1 in
        "") echo "–" ;;
        0) echo "ok" ;;
        1) echo "receipts missing (exit 1)" ;;
        124) echo "timed out after ${leg_timeout}s" ;;
        *) echo "failed (exit $1)" ;;
    esac
}

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || true)
echo "End-to-end benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores (${cpu:-unknown CPU}), load average $load at start, commit $(git describe --always --dirty 2>/dev/null || echo '?')"
echo
echo "$count messages, $sessions sessions × window $window, receipts on (smpp-sim defaults: receipts after 10–100 ms), tool threads: ${tool_workers:-one per CPU}"
echo
echo "| | direct (bench → sim) | relay (bench → relay → sim) | router (bench → router → sim) | relay/direct | router/direct |"
echo "|---|---:|---:|---:|---:|---:|"
row "messages/s" '.throughput | round' ratio
row "submit p50 (ms)" '.submit_latency_ms.p50' ratio
row "submit p99 (ms)" '.submit_latency_ms.p99' ratio
row "submit p99.9 (ms)" '.submit_latency_ms.p999' ratio
row "acked ESME_ROK" '.ok'
row "not acked (errors, timeouts, lost)" '.errors + .timeouts + .connection_lost + .not_sent'
row "receipts matched" '.receipts.matched'
row "receipts missing" '.receipts.missing'
row "receipt latency p50 (ms)" '.receipts.latency_ms.p50' ratio
# CPU per message of each process (µs), and the cores the leg kept busy: where the router
# leg's time goes (benches/e2e/README.md). The tools report their own CPU time at exit.
per_message() { # per_message CPU_SECONDS
    [[ -z $1 ]] && { echo "–"; return; }
    awk -v c="$1" -v n="$count" 'BEGIN { printf "%.2f", c * 1e6 / n }'
}
d_bench=$(metric .cpu_secs "$work/direct.json")
l_bench=$(metric .cpu_secs "$work/relay.json")
r_bench=$(metric .cpu_secs "$work/router.json")
d_sim=$(metric .cpu_secs "$work/direct-sim.json")
l_sim=$(metric .cpu_secs "$work/relay-sim.json")
r_sim=$(metric .cpu_secs "$work/router-sim.json")
printf '| CPU per message, smpp-bench (µs) | %s | %s | %s | %s | %s |\n' "$(per_message "$d_bench")" \
    "$(per_message "$l_bench")" "$(per_message "$r_bench")" \
    "$(ratio "$l_bench" "$d_bench")" "$(ratio "$r_bench" "$d_bench")"
printf '| CPU per message, smpp-sim (µs) | %s | %s | %s | %s | %s |\n' "$(per_message "$d_sim")" \
    "$(per_message "$l_sim")" "$(per_message "$r_sim")" \
    "$(ratio "$l_sim" "$d_sim")" "$(ratio "$r_sim" "$d_sim")"
printf '| CPU per message, the process in the middle (µs) | | %s | %s | | |\n' \
    "$(per_message "${relay_cpu:-}")" "$(per_message "${router_cpu:-}")"
cpu_sum() { # cpu_sum CPU... : the sum of CPU seconds (nothing when any is missing)
    local c sum=0
    for c in "$@"; do
        [[ -z $c ]] && return 0
        sum=$(awk -v a="$sum" -v b="$c" 'BEGIN { print a + b }')
    done
    echo "$sum"
}
busy() { # busy WALL CPU... : CPU seconds over wall seconds ("–" when any is missing)
    local wall=$1 sum
    shift
    sum=$(cpu_sum "$@")
    [[ -z $wall || -z $sum ]] && { echo "–"; return; }
    awk -v s="$sum" -v w="$wall" 'BEGIN { if (w > 0) printf "%.2f", s / w; else print "–" }'
}
printf '| cores busy over the leg (of %s) | %s | %s | %s | | |\n' "$(nproc)" \
    "$(busy "${direct_wall:-}" "$d_bench" "$d_sim")" \
    "$([[ -n $relay_bin ]] && busy "${relay_wall:-}" "$l_bench" "$l_sim" "${relay_cpu:-}" || echo "–")" \
    "$(busy "${router_wall:-}" "$r_bench" "$r_sim" "${router_cpu:-}")"
# The rate each leg would reach if it kept every core busy at the CPU per message it spent:
# cores ÷ (its processes' CPU per message). No scheduling, batching or waiting takes a leg past
# it. Its ratio is the legs' ratio of CPU per message, so the messages/s ratio above differs
# from it only by how busy each leg kept the cores. A bound, not a forecast: a leg that spends
# less per message need not keep the same cores busy (benches/e2e/README.md).
ceiling() { # ceiling CPU... : messages/s with every core busy (nothing when any is missing)
    local sum
    sum=$(cpu_sum "$@")
    [[ -z $sum ]] && return 0
    awk -v s="$sum" -v n="$count" -v k="$(nproc)" 'BEGIN { if (s > 0) printf "%.0f", k * n / s }'
}
d_ceiling=$(ceiling "$d_bench" "$d_sim")
l_ceiling=$([[ -n $relay_bin ]] && ceiling "$l_bench" "$l_sim" "${relay_cpu:-}" || true)
r_ceiling=$(ceiling "$r_bench" "$r_sim" "${router_cpu:-}")
printf '| messages/s with every core busy (cores ÷ CPU per message) | %s | %s | %s | %s | %s |\n' \
    "$(fmt "$d_ceiling")" "$(fmt "$l_ceiling")" "$(fmt "$r_ceiling")" \
    "$(ratio "$l_ceiling" "$d_ceiling")" "$(ratio "$r_ceiling" "$d_ceiling")"
# The tools run on one runtime thread each (with the default tool_workers): their CPU over the
# wall time is that thread's share.
share() { # share WALL CPU: CPU seconds as a percentage of WALL ("–" when either is missing)
    [[ -z $1 || -z $2 ]] && { echo "–"; return; }
    awk -v c="$2" -v w="$1" 'BEGIN { if (w > 0) printf "%.0f %%", 100 * c / w; else print "–" }'
}
printf '| on CPU (of the leg'"'"'s wall time), smpp-bench | %s | %s | %s | | |\n' \
    "$(share "${direct_wall:-}" "$d_bench")" "$(share "${relay_wall:-}" "$l_bench")" \
    "$(share "${router_wall:-}" "$r_bench")"
printf '| on CPU (of the leg'"'"'s wall time), smpp-sim | %s | %s | %s | | |\n' \
    "$(share "${direct_wall:-}" "$d_sim")" "$(share "${relay_wall:-}" "$l_sim")" \
    "$(share "${router_wall:-}" "$r_sim")"
printf '| on CPU (of the leg'"'"'s wall time), the busiest thread in the middle | | %s | %s | | |\n' \
    "$(share "${relay_wall:-}" "${relay_thread:-}")" "$(share "${router_wall:-}" "${router_thread:-}")"
printf '| result | %s | %s | %s | | |\n' "$(status_text "$direct_status")" \
    "$([[ -n $relay_bin ]] && status_text "$relay_status" || echo "skipped")" \
    "$([[ -n $router_skip ]] && echo "skipped" || status_text "$router_status")"
if [[ -n $router_skip ]]; then
    echo
    echo "Router leg skipped: $router_skip."
fi

# Exit status: the first failed leg's, the router's last (a skipped leg is not a failure).
status=$direct_status
[[ -n $relay_status && $relay_status != 0 ]] && status=$relay_status
[[ -n $router_status && $router_status != 0 ]] && status=$router_status
exit "$status"
