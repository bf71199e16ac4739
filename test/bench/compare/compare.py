#!/usr/bin/env python3
"""Side-by-side benchmark: a candidate server command vs memcached, interleaved.

Run through compare.sh; docs/performance.md explains every workload and knob.
Standard library only. All traffic goes to 127.0.0.1.
"""
import ctypes
import datetime
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALLER_CWD = os.getcwd()   # the candidate command runs here, so relative paths in it work


def env(name, default):
    v = os.environ.get(name)
    return type(default)(v) if v not in (None, "") else default


SECS = env("BENCH_SECS", 5)                      # seconds per throughput / latency run
CONNS = env("BENCH_CONNS", 32)                   # client connections (a-e)
MEM_MB = env("BENCH_MEM_MB", 1024)               # -m for a-e (key space fits)
SMALL_MB = env("BENCH_SMALL_MB", 64)             # -m for f and g
MS_THREADS = env("MEMASLAP_THREADS", 1)          # memaslap -T
LAT_RATE = env("LAT_RATE", 10000)                # requests/s for e
TRACE_OPS = env("TRACE_OPS", 1000000)
TRACE_KEYS = env("TRACE_KEYS", 200000)
TRACE_ALPHA = env("TRACE_ALPHA", 0.99)
TRACE_SEED = env("TRACE_SEED", 1)
TRACE_LIMIT = env("TRACE_LIMIT", 240)            # seconds before a trace run is abandoned
FILL_ITEMS = env("FILL_ITEMS", 1000000)
FILL_LIMIT = env("FILL_LIMIT", 180)
START_LIMIT = env("BENCH_START_LIMIT", 30)       # seconds for a server to accept connections
MEMCACHED = env("MEMCACHED", "/usr/bin/memcached")
MEMASLAP = env("MEMASLAP", "/usr/bin/memcaslap")
WORKLOADS = env("BENCH_WORKLOADS", "a,b,c,d,e,f,g").split(",")
BASELINES = env("BENCH_BASELINES", "1,4").split(",")   # memcached -t values; the first is the headline
CAND_EXTRA = env("CAND_EXTRA", "")               # extra flags appended to the candidate command

live = []  # servers currently running, killed on any exit

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def die_with_harness():
    """runs in the server's process before exec: SIGKILL it if the harness itself dies."""
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def group_procs(pgid):
    """pids whose process group is pgid (the server and anything it spawned)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:      # field 5: pgrp
            out.append((int(d), fields))
    return out


def group_cpu(pgid):
    tck = os.sysconf("SC_CLK_TCK")
    return sum(int(f[11]) + int(f[12]) for _, f in group_procs(pgid)) / tck   # utime+stime


def group_rss_mb(pgid):
    total = 0
    for pid, _ in group_procs(pgid):
        try:
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total / 1024


class Server:
    def __init__(self, name, argv_fn, outdir):
        self.name, self.argv_fn, self.outdir = name, argv_fn, outdir
        self.proc = None

    def start(self, mem_mb, tag):
        self.port = free_port()
        argv = self.argv_fn(self.port, mem_mb)
        self.logf = open(os.path.join(self.outdir, f"server-{self.name}-{tag}.log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, cwd=CALLER_CWD,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=die_with_harness)
        live.append(self)
        deadline = time.time() + START_LIMIT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start (see {self.logf.name})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not accept connections on port {self.port} within {START_LIMIT}s")

    def cpu(self):
        return group_cpu(self.proc.pid)

    def rss_mb(self):
        return group_rss_mb(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                # the group may outlive its leader (npm wrappers): make sure it is empty
                if not group_procs(self.proc.pid):
                    break
            except subprocess.TimeoutExpired:
                pass
        self.logf.close()
        if self in live:
            live.remove(self)
        self.proc = None


def cleanup(*_):
    for s in list(live):
        s.stop()
    if _:
        sys.exit(130)


# ---------------------------------------------------------------- workloads
def run_client(argv, limit, outdir, tag):
    t = time.time()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL)
        out, err, rc = r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = "harness: client timed out", 124
    with open(os.path.join(outdir, f"client-{tag}.log"), "w") as f:
        f.write(" ".join(shlex.quote(a) for a in argv) + f"\n# rc={rc} secs={time.time() - t:.1f}\n{out}\n{err}")
    return out, err, rc


def kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def w_memaslap(extra, window=None):
    def run(srv, ctx):
        argv = [MEMASLAP, "-s", f"127.0.0.1:{srv.port}", "-T", str(MS_THREADS), "-c", str(CONNS),
                "-t", f"{SECS}s", "-F", os.path.join(HERE, "memaslap.cfg")] + extra
        if window:
            argv += ["-w", window]
        cpu0 = srv.cpu()
        out, err, rc = run_client(argv, SECS + 30, ctx["outdir"], ctx["tag"])
        cpu = srv.cpu() - cpu0
        if rc != 0:   # 124: memaslap hung (a stalled server); its partial summary is not a result
            raise RuntimeError(f"memaslap failed (rc={rc}): {err.strip()[-200:]}")
        m = re.search(r"Ops: (\d+) TPS: (\d+)", out)
        if not m or int(m.group(1)) == 0:
            raise RuntimeError(f"memaslap gave no result (rc={rc})")
        ops, tps = int(m.group(1)), int(m.group(2))
        gets = int(re.search(r"cmd_get: (\d+)", out).group(1))
        misses = int(re.search(r"get_misses: (\d+)", out).group(1))
        res = {"ops_s": tps, "cpu_us_op": cpu / ops * 1e6, "miss_pct": 100.0 * misses / max(gets, 1)}
        if res["miss_pct"] > 1.0:
            res["warning"] = f"{res['miss_pct']:.1f}% get misses: the server lost or refused sets"
        return res
    return run


def w_latency(srv, ctx):
    argv = [ctx["mcbench"], "lat", "-p", str(srv.port), "-r", str(LAT_RATE), "-c", str(CONNS),
            "-d", str(SECS), "-w", "1", "-T", str(SECS + 40)]
    out, err, rc = run_client(argv, SECS + 45, ctx["outdir"], ctx["tag"])
    r = kv(out)
    if "p50_us" not in r:
        raise RuntimeError(f"mcbench lat failed: {out.strip() or err.strip()[-200:]}")
    res = {k: float(r[k]) for k in ("p50_us", "p99_us", "p999_us", "rate")}
    if int(r["errors"]) or int(r["lost"]):   # unanswered requests count in the percentiles as a lower bound
        res["warning"] = f"errors={r['errors']} unanswered={r['lost']}"
    return res


def w_trace(srv, ctx):
    argv = [ctx["mcbench"], "trace", "-p", str(srv.port), "-n", str(TRACE_OPS), "-k", str(TRACE_KEYS),
            "-a", str(TRACE_ALPHA), "-e", str(TRACE_SEED), "-T", str(TRACE_LIMIT)]
    out, err, rc = run_client(argv, TRACE_LIMIT + 5, ctx["outdir"], ctx["tag"])
    r = kv(out)
    if rc != 0 or "hit_ratio" not in r:
        raise RuntimeError(f"mcbench trace failed: {out.strip() or err.strip()[-200:]}")
    res = {"hit_ratio": float(r["hit_ratio"]), "hit_ratio_2nd": float(r["hit_ratio_2nd_half"]),
           "byte_hit_ratio": float(r["byte_hit_ratio"]), "rss_mb": srv.rss_mb(), "secs": float(r["secs"])}
    bad = {k: r[k] for k in ("errors", "corrupt", "set_fail") if int(r[k])}
    if bad:
        res["warning"] = " ".join(f"{k}={v}" for k, v in bad.items())
    return res


def w_fill(srv, ctx):
    argv = [ctx["mcbench"], "fill", "-p", str(srv.port), "-n", str(FILL_ITEMS), "-s", "100", "-T", str(FILL_LIMIT)]
    out, err, rc = run_client(argv, FILL_LIMIT + 5, ctx["outdir"], ctx["tag"])
    r = kv(out)
    if rc != 0 or "retained" not in r:
        raise RuntimeError(f"mcbench fill failed: {out.strip() or err.strip()[-200:]}")
    first = int(r["items_at_first_eviction"])
    res = {"items_first_evict": first if first >= 0 else None, "retained": int(r["retained"]), "rss_mb": srv.rss_mb()}
    warn = []
    if first < 0:
        warn.append("no eviction seen in stats (no stats, or nothing evicted)")
    if int(r["corrupt"]) or int(r["set_fail"]):
        warn.append(f"corrupt={r['corrupt']} set_fail={r['set_fail']}")
    if warn:
        res["warning"] = "; ".join(warn)
    return res


# name, description, -m, runner, metrics [(key, unit, higher_is_better, fmt)]
TPUT = [("ops_s", "ops/s", True, "{:.0f}"), ("cpu_us_op", "srv CPU us/op", False, "{:.2f}")]
WORKLOADS_DEF = {
    "a": ("ascii 90/10 get/set, 100B values", MEM_MB, w_memaslap(["-X", "100"]), TPUT),
    "b": ("binary 90/10 get/set, 100B values", MEM_MB, w_memaslap(["-X", "100", "-B"]), TPUT),
    "c": ("ascii multiget 10 keys/get, 100B", MEM_MB, w_memaslap(["-X", "100", "-d", "10"]), TPUT),
    "d": ("ascii 90/10 get/set, 4KiB values", MEM_MB, w_memaslap(["-X", "4096"], window="2k"), TPUT),
    "e": (f"latency, open loop {LAT_RATE} req/s", MEM_MB, w_latency,
          [("p50_us", "p50 us", False, "{:.1f}"), ("p99_us", "p99 us", False, "{:.1f}"),
           ("p999_us", "p99.9 us", False, "{:.1f}")]),
    "f": (f"zipf {TRACE_ALPHA} look-aside, -m {SMALL_MB}", SMALL_MB, w_trace,
          [("hit_ratio", "hit ratio", True, "{:.4f}"), ("byte_hit_ratio", "byte hit ratio", True, "{:.4f}"),
           ("rss_mb", "RSS MB", False, "{:.1f}")]),
    "g": (f"fill 100B values, -m {SMALL_MB}", SMALL_MB, w_fill,
          [("items_first_evict", "items@1st evict", True, "{:.0f}"),
           ("retained", "items kept", True, "{:.0f}"), ("rss_mb", "RSS MB", False, "{:.1f}")]),
}


# ---------------------------------------------------------------- main
def sanity(srv):
    """set then get one key over the text protocol; returns an error string or None."""
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"set bench:sanity 7 0 5\r\nhello\r\nget bench:sanity\r\n")
        want = b"STORED\r\nVALUE bench:sanity 7 5\r\nhello\r\nEND\r\n"
        got = b""
        while len(got) < len(want):
            d = s.recv(4096)
            if not d:
                break
            got += d
        s.close()
        return None if got == want else f"sanity set/get answered {got[:80]!r}"
    except OSError as e:
        return f"sanity set/get failed: {e}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__ + "\nusage: compare.sh 'SERVER_CMD' [ROUNDS]", file=sys.stderr)
        return 2
    t_start = time.time()
    cand_cmd = sys.argv[1]
    rounds = sys.argv[2] if len(sys.argv) > 2 else "3"
    if not rounds.isdigit() or int(rounds) < 1:
        print(f"compare.sh: ROUNDS must be a positive integer, not {rounds!r}", file=sys.stderr)
        return 2
    rounds = int(rounds)
    unknown = [w for w in WORKLOADS if w not in WORKLOADS_DEF]
    if unknown:
        print(f"compare.sh: unknown workload(s) {','.join(unknown)} in BENCH_WORKLOADS (known: a-g)", file=sys.stderr)
        return 2
    outdir = os.path.abspath(os.environ.get("BENCH_OUT") or tempfile.mkdtemp(prefix="slabcache-bench."))
    os.makedirs(outdir, exist_ok=True)
    mcbench = os.path.join(outdir, "mcbench")
    subprocess.run(["gcc", "-O2", "-o", mcbench, os.path.join(HERE, "mcbench.c"), "-lm"], check=True)

    root = ["-u", "root"] if os.geteuid() == 0 else []
    servers = []
    for t in BASELINES:
        servers.append(Server(f"memcached-t{t}", lambda p, m, t=t: [MEMCACHED, "-p", str(p), "-l", "127.0.0.1", "-U", "0",
                                                                   "-m", str(m), "-t", t] + root, outdir))
    # bash runs the command line in the caller's directory (relative paths work). bash execs
    # a simple command (also "VAR=x cmd"), so the server leads its own process group; the
    # whole group is measured and killed either way
    cand = Server("candidate", lambda p, m: ["bash", "-c", f"{cand_cmd} -p {p} -l 127.0.0.1 -U 0 -m {m} {CAND_EXTRA}"], outdir)
    servers.append(cand)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, cleanup)
    ver = subprocess.run([MEMCACHED, "-V"], capture_output=True, text=True).stdout.strip()
    log(f"# raw results and logs: {outdir}")
    log(f"# {ver}; candidate: {cand_cmd}; rounds={rounds}; workloads={','.join(WORKLOADS)}")
    try:
        cand.start(SMALL_MB, "sanity")
        err = sanity(cand)
        err = err and f"candidate {err}"
    except RuntimeError as e:
        err = str(e)
    finally:
        cand.stop()
    if err:
        log(f"# WARNING: {err}")

    results = {w: {s.name: [] for s in servers} for w in WORKLOADS}
    warnings = []
    try:
        for w in WORKLOADS:
            desc, mem, fn, _ = WORKLOADS_DEF[w]
            for r in range(rounds):
                order = servers[r % len(servers):] + servers[:r % len(servers)]   # A B C, B C A, ...
                for srv in order:
                    tag = f"{w}-r{r}-{srv.name}"
                    res = None
                    try:
                        srv.start(mem, tag)
                        res = fn(srv, {"outdir": outdir, "tag": tag, "mcbench": mcbench})
                        if not srv.alive():
                            raise RuntimeError("server died during the run")
                    except Exception as e:  # any failure is one failed cell, never the whole run
                        res = {"error": str(e)}
                    finally:
                        srv.stop()
                    results[w][srv.name].append(res)
                    if "error" in res or "warning" in res:
                        warnings.append(f"{tag}: {res.get('error') or res.get('warning')}")
                    log(f"{tag:28s} " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                 for k, v in res.items()))
    finally:
        cleanup()

    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"candidate": cand_cmd, "rounds": rounds, "results": results}, f, indent=1)

    def med(w, sname, key):
        vals = [x[key] for x in results[w][sname] if x.get(key) is not None and "error" not in x]
        return (statistics.median(vals), len(vals)) if vals else (None, 0)

    def paired(w, base, key):
        rs = [c[key] / b[key] for b, c in zip(results[w][base], results[w]["candidate"])
              if b.get(key) and c.get(key) is not None and "error" not in b and "error" not in c]
        return (min(rs), max(rs)) if rs else None

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    print(f"\nslabcache side-by-side, {stamp}, {os.cpu_count()} cores, {rounds} rounds interleaved, medians")
    print(f"candidate: {cand_cmd} -p PORT -l 127.0.0.1 -U 0 -m MB {CAND_EXTRA}".rstrip())
    print(f"baseline:  {ver}; memaslap -T {MS_THREADS} -c {CONNS}, {SECS}s runs; raw data: {outdir}")
    for i, t in enumerate(BASELINES):
        base = f"memcached-t{t}"
        title = "HEADLINE" if i == 0 else "also"
        print(f"\n{title}: candidate vs memcached -t {t}   (ratio = candidate/memcached; 'better' says which way is good)")
        hdr = f"{'workload':44s} {'metric':16s} {'better':6s} {'memcached':>11s} {'candidate':>11s} {'ratio':>6s} {'per-round':>11s}"
        print(hdr)
        print("-" * len(hdr))
        for w in WORKLOADS:
            desc, _, _, metrics = WORKLOADS_DEF[w]
            for j, (key, unit, higher, fm) in enumerate(metrics):
                b, nb = med(w, base, key)
                c, nc = med(w, "candidate", key)
                ratio = c / b if b and c is not None else None
                pr = paired(w, base, key)
                prs = f"{pr[0]:.2f}-{pr[1]:.2f}" if pr else "-"
                bs = fm.format(b) if b is not None else "FAIL"
                cs = fm.format(c) if c is not None else "FAIL"
                if b is not None and nb < rounds:
                    bs += f"({nb})"
                if c is not None and nc < rounds:
                    cs += f"({nc})"
                name = f"{w}. {desc}" if j == 0 else ""
                print(f"{name:44s} {unit:16s} {'higher' if higher else 'lower':6s} {bs:>11s} {cs:>11s} {fmt_ratio(ratio):>6s} {prs:>11s}")
    if warnings:
        print("\nwarnings:")
        for x in warnings:
            print("  " + x)
    print(f"\n(total {time.time() - t_start:.0f}s; '(n)' = only n of {rounds} rounds succeeded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
