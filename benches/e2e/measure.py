#!/usr/bin/env python3
"""A ROUTER_BIN wrapper for run.sh that measures the router it starts: CPU time, peak and
current RSS, the size of its data directory, and optionally a perf profile, without changing
how run.sh starts and stops it.

    ROUTER_REAL=/path/to/smpp-router MEASURE_OUT=/tmp/m.txt [PERF_OUT=/tmp/perf.data] \
    [SAMPLE_EVERY=seconds] ROUTER_BIN=benches/e2e/measure.py benches/e2e/run.sh --no-build

On the SIGINT that run.sh sends at the end of the leg it appends one line to MEASURE_OUT:
    end CPU_TICKS VMHWM_KB VMRSS_KB DATA_KB
(CPU is utime + stime in 1/100 s). With SAMPLE_EVERY it also appends
    sample SECONDS CPU_TICKS VMRSS_KB DATA_KB
while the router runs (memory over a long run), followed by the store's gauges from the
router's /metrics when it answers (smpp_store_write_buffer_bytes, smpp_store_journal_files):
    sample SECONDS CPU_TICKS VMRSS_KB DATA_KB WRITE_BUFFER_BYTES JOURNAL_FILES
With PERF_OUT, `perf record -g` samples the router until the end, with
PERF_ARGS (default -g; e.g. "--call-graph dwarf -F 499" for callers of inlined code).

Python, not bash: run.sh starts the router in the background, where a non-interactive shell
ignores SIGINT, and a shell cannot trap a signal that was ignored when it started.
"""
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request


def config_value(args, section, key):
    """A string value from the config file run.sh wrote (one `key = "value"` per line)."""
    try:
        config = args[args.index("--config") + 1]
        current = None
        for line in open(config):
            line = line.strip()
            if line.startswith("["):
                current = line.strip("[]")
            elif current == section and line.split("=", 1)[0].strip() == key:
                return line.split("=", 1)[1].strip().strip('"')
    except (ValueError, IndexError, OSError):
        pass
    return None


def store_gauges(metrics_addr):
    """The store's write buffer and journal count from /metrics, or '' when unanswered."""
    if not metrics_addr:
        return ""
    try:
        with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return ""
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        values[name] = value
    return " %s %s" % (
        values.get("smpp_store_write_buffer_bytes", "?"),
        values.get("smpp_store_journal_files", "?"),
    )


def du_kb(path):
    total = 0
    for root, _, files in os.walk(path or "/nonexistent"):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks // 2
            except OSError:
                pass
    return total


def reading(pid, ddir):
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = int(stat[11]) + int(stat[12])
        status = dict(
            line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line
        )
        hwm = status["VmHWM"].split()[0]
        rss = status["VmRSS"].split()[0]
    except (OSError, KeyError, IndexError, ValueError):
        return None
    return cpu, hwm, rss, du_kb(ddir)


def main():
    real = os.environ["ROUTER_REAL"]
    out = os.environ["MEASURE_OUT"]
    args = sys.argv[1:]
    ddir = config_value(args, "node", "data_dir")
    metrics_addr = config_value(args, "metrics", "listen")
    child = subprocess.Popen([real] + args)
    perf = None
    if os.environ.get("PERF_OUT"):
        perf = subprocess.Popen(
            ["perf", "record", "-o", os.environ["PERF_OUT"], "-p", str(child.pid)]
            + os.environ.get("PERF_ARGS", "-g").split(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    start = time.monotonic()
    stopping = threading.Event()

    def sampler(every):
        while not stopping.wait(every):
            r = reading(child.pid, ddir)
            if r is None:
                return
            with open(out, "a") as f:
                f.write(
                    f"sample {time.monotonic() - start:.0f} {r[0]} {r[2]} {r[3]}"
                    f"{store_gauges(metrics_addr)}\n"
                )

    if os.environ.get("SAMPLE_EVERY"):
        threading.Thread(
            target=sampler, args=(float(os.environ["SAMPLE_EVERY"]),), daemon=True
        ).start()

    def finish(signum, _frame):
        stopping.set()
        r = reading(child.pid, ddir)
        if r is not None:
            with open(out, "a") as f:
                f.write("end %d %s %s %d\n" % r)
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        child.send_signal(signum)

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    sys.exit(child.wait())


main()
