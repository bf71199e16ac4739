#!/usr/bin/env bash
# Worker-thread scaling: memaslap against slabcache and memcached 1.6.18 at -t 1, 2, 4, 8.
#   test/bench/threads.sh            # from the project root, after npx tsc -p tsconfig.json
# For each server and -t it starts the server on a loopback port, runs memaslap (ascii,
# 90% get / 10% set, 100 B values: compare.sh's workload a) with as many client threads as
# the cores the server leaves free, and prints ops/s and server CPU us per op (user+system
# of the whole process, every thread, from /proc/PID/stat over the run). Rounds are
# interleaved and the median is printed. Scaling shows only where the cores are there:
# -t 8 plus its clients wants a machine with 8 cores or more.
# Environment (default): BENCH_THREADS ("1 2 4 8"), BENCH_SECS (10), BENCH_ROUNDS (3),
# BENCH_CLIENT_THREADS (cores minus -t, at least 1), BENCH_CONNS_PER_CLIENT_THREAD (8),
# BENCH_MEM_MB (1024), BENCH_SERVERS ("slabcache memcached"), MEMCACHED, MEMASLAP, NODE.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
MEMCACHED="${MEMCACHED:-/usr/bin/memcached}"
MEMASLAP="${MEMASLAP:-/usr/bin/memcaslap}"
NODE="${NODE:-node}"
THREADS="${BENCH_THREADS:-1 2 4 8}"
SECS="${BENCH_SECS:-10}"
ROUNDS="${BENCH_ROUNDS:-3}"
PER_CLIENT="${BENCH_CONNS_PER_CLIENT_THREAD:-8}"
MEM_MB="${BENCH_MEM_MB:-1024}"
SERVERS="${BENCH_SERVERS:-slabcache memcached}"
CFG="$ROOT/test/bench/compare/memaslap.cfg"
CORES="$(nproc)"
TICKS="$(getconf CLK_TCK)"

for tool in "$MEMCACHED" "$MEMASLAP" "$NODE" python3; do
  command -v "$tool" >/dev/null || { echo "threads.sh: $tool not found (apt-get install memcached libmemcached-tools python3)" >&2; exit 2; }
done
[ -d "$ROOT/dist/src" ] || { echo "threads.sh: build first: npx tsc -p tsconfig.json" >&2; exit 2; }

OUT="$(mktemp -d -t slabcache-threads.XXXXXX)"
echo "# logs: $OUT" >&2
user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)

server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# utime + stime of the whole process (all its threads), in clock ticks: /proc/PID/stat fields 14, 15
cpu_ticks() {
  local s
  s="$(< "/proc/$1/stat")"
  s="${s##*) }"
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}

# start SERVER at -t N on PORT; returns once it accepts a connection (30 s at most)
start_server() {
  local name="$1" t="$2" port="$3" log="$4"
  if [ "$name" = memcached ]; then
    "$MEMCACHED" -p "$port" -l 127.0.0.1 -U 0 -m "$MEM_MB" -t "$t" "${user[@]}" >"$log" 2>&1 &
  else
    "$NODE" "$ROOT/bin/slabcache.js" -p "$port" -l 127.0.0.1 -U 0 -m "$MEM_MB" -t "$t" "${user[@]}" >"$log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 300); do
    kill -0 "$server_pid" 2>/dev/null || { echo "threads.sh: $name -t $t exited at start (see $log)" >&2; server_pid=""; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "threads.sh: $name -t $t did not accept connections within 30 s (see $log)" >&2
  return 1
}

# one run: prints "ops_per_s cpu_us_per_op" or "FAIL"
run_one() {
  local name="$1" t="$2" clients="$3" tag="$4"
  local port log cpu0 cpu1 out ops tps
  port="$(free_port)"
  log="$OUT/server-$tag.log"
  if ! start_server "$name" "$t" "$port" "$log"; then echo FAIL; return; fi
  cpu0="$(cpu_ticks "$server_pid")"
  if ! out="$("$MEMASLAP" -s "127.0.0.1:$port" -T "$clients" -c $((clients * PER_CLIENT)) -t "${SECS}s" -F "$CFG" -X 100 2>&1)"; then
    echo "$out" >"$OUT/client-$tag.log"
    stop_server
    echo FAIL
    return
  fi
  cpu1="$(cpu_ticks "$server_pid")"
  echo "$out" >"$OUT/client-$tag.log"
  stop_server
  read -r ops tps < <(sed -n 's/.*Ops: \([0-9]*\) TPS: \([0-9]*\).*/\1 \2/p' <<<"$out" | tail -1)
  if [ -z "${ops:-}" ] || [ "$ops" -eq 0 ]; then echo FAIL; return; fi
  python3 -c "print($tps, round(($cpu1 - $cpu0) / $TICKS / $ops * 1e6, 2))"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "FAIL"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A tps_of cpu_of
for r in $(seq "$ROUNDS"); do
  for t in $THREADS; do
    clients="${BENCH_CLIENT_THREADS:-$(( CORES > t ? CORES - t : 1 ))}"
    for name in $SERVERS; do
      tag="$name-t$t-r$r"
      res="$(run_one "$name" "$t" "$clients" "$tag")"
      echo "$tag: memaslap -T $clients: $res" >&2
      if [ "$res" != FAIL ]; then
        tps_of["$name $t"]+="${res%% *} "
        cpu_of["$name $t"]+="${res##* } "
      fi
    done
  done
done

echo
echo "worker-thread scaling, $CORES cores, $(date -u '+%Y-%m-%d %H:%M UTC'); memaslap ascii 90/10 get/set, 100 B values, ${SECS} s runs, median of $ROUNDS"
[ "$CORES" -ge 8 ] || echo "note: $CORES cores: the clients and the server share them, so no scaling can show here (needs 8 or more)"
printf '%-10s %4s %14s %12s %12s %18s\n' server -t 'client thr' conns ops/s 'srv CPU us/op'
for t in $THREADS; do
  clients="${BENCH_CLIENT_THREADS:-$(( CORES > t ? CORES - t : 1 ))}"
  for name in $SERVERS; do
    tps="$(tr ' ' '\n' <<<"${tps_of["$name $t"]:-}" | grep . | median)"
    cpu="$(tr ' ' '\n' <<<"${cpu_of["$name $t"]:-}" | grep . | median)"
    printf '%-10s %4s %14s %12s %12s %18s\n' "$name" "$t" "$clients" $((clients * PER_CLIENT)) "$tps" "$cpu"
  done
done
