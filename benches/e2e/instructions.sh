#!/usr/bin/env bash
# Instructions the router executes per message, counted by valgrind's callgrind: a figure that
# repeats from run to run on a busy machine, where wall-clock A/B runs vary by a third.
#
#   benches/e2e/instructions.sh [--small N] [--large N] [--keep DIR] NAME=ROUTER_BIN ...
#
# For each router binary, run.sh's router leg runs twice under callgrind (N = --small, then
# --large messages, receipts on). The difference of the two totals divided by the difference of
# the counts is the cost of one message (submit, carrier answer, receipt, its delivery and
# answer) with start-up (the account's Argon2 check, opening the store) taken out. User-space
# instructions only: the kernel's share (TCP, fdatasync) is not in it.
#
# Under callgrind the router is ~50 times slower, so it is the bottleneck and every read and
# write carries as many PDUs as the windows allow: the figure is the router's cost at
# saturation, the benchmark's case. --keep DIR keeps the callgrind files (NAME-N.out) for
# `callgrind_annotate`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
small=4000
large=24000
keep=""
builds=()
while (($#)); do
    case $1 in
        --small) small=$2; shift 2 ;;
        --large) large=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *=*) builds+=("$1"); shift ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
((${#builds[@]})) || { echo "give at least one NAME=ROUTER_BIN (see --help)" >&2; exit 2; }
((large > small)) || { echo "--large must be more than --small" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/smpp-instr.XXXXXX")
trap 'rm -rf "$work"' EXIT
[[ -z $keep ]] || mkdir -p "$keep"

# The wrapper run.sh starts as the router: callgrind around the real binary.
cat >"$work/wrap.sh" <<'EOF'
#!/usr/bin/env bash
exec valgrind --tool=callgrind --callgrind-out-file="$CG_OUT" --dump-instr=no \
    "$CG_REAL" "$@" 2>>"$CG_OUT.valgrind"
EOF
chmod +x "$work/wrap.sh"

# total FILE: the instruction count in a callgrind file.
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

echo "| build | instructions, $small messages | $large messages | per message |"
echo "|---|---:|---:|---:|"
for b in "${builds[@]}"; do
    name=${b%%=*} bin=${b#*=}
    [[ -x $bin ]] || { echo "$name: no executable at $bin" >&2; exit 2; }
    counts=()
    for n in "$small" "$large"; do
        out="$work/$name-$n.out"
        echo "$name: $n messages under callgrind" >&2
        if ! E2E_RELAY=0 CG_REAL=$bin CG_OUT=$out ROUTER_BIN="$work/wrap.sh" \
            "$here/run.sh" --count "$n" --no-build >"$work/$name-$n.table" 2>"$work/$name-$n.log"; then
            echo "$name: the leg of $n messages failed:" >&2
            cat "$work/$name-$n.table" "$work/$name-$n.log" >&2
            exit 1
        fi
        [[ -s $out ]] || { echo "$name: callgrind wrote nothing ($out.valgrind)" >&2; exit 1; }
        counts+=("$(total "$out")")
        [[ -z $keep ]] || cp "$out" "$keep/$name-$n.out"
    done
    awk -v name="$name" -v a="${counts[0]}" -v b="${counts[1]}" -v n="$((large - small))" \
        'BEGIN { printf "| %s | %d | %d | %.0f |\n", name, a, b, (b - a) / n }'
done
