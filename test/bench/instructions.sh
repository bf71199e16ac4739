#!/usr/bin/env bash
# Counts a server's CPU instructions per request under callgrind. Instruction counts do
# not depend on what else runs on the machine, so two builds can be compared on a busy
# one, where wall-clock and CPU-time figures cannot.
#
#   test/bench/instructions.sh LOAD [N] -- SERVER ARGS...      (LOAD: a b c d)
#   test/bench/instructions.sh a -- node bin/slabcache.js -u root -t 1 -p PORT -U 0
#
# The fixed client script instr-client.mjs sends WARMUP requests (default 40,000, so
# that the JIT settles), then WINDOWS windows (default 3) of N requests (default
# 10,000). callgrind_control dumps the server's counts at each window's edges, so only
# the windows are counted, and each window is printed: when they disagree, something
# other than the requests ran (a compile, a GC) and more warmup or a larger N helps.
#
# PORT in the server's arguments becomes a free loopback port. Use -u root when running
# as root: callgrind writes its files as the server's user. KEEP=dir keeps the files
# (callgrind_annotate shows where the instructions go; add --perf-basic-prof to node
# for JavaScript names). About 50x slower than native.
set -euo pipefail
load=$1; shift
n=10000
if [[ $1 != -- ]]; then n=$1; shift; fi
shift
here=$(cd "$(dirname "$0")" && pwd)
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"
rm -f "$out"/cg.*
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
args=()
for a in "$@"; do args+=("${a//PORT/$port}"); done
valgrind --tool=callgrind --smc-check=all-non-file --compress-strings=no --compress-pos=no --callgrind-out-file="$out/cg" "${args[@]}" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  kill -0 "$pid" 2>/dev/null || { echo "the server exited: $out/server.log" >&2; exit 1; }
  if node -e "const s=require('net').connect($port,'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))"; then break; fi
  sleep 0.2
done

coproc CLIENT { node "$here/instr-client.mjs" "$port" "$load" "${WARMUP:-40000}" "$n" "${WINDOWS:-3}"; }
dumps=0
while read -r line <&"${CLIENT[0]}"; do
  callgrind_control -d "$pid" >/dev/null
  dumps=$((dumps + 1))
  [[ $line == done ]] && break
  echo go >&"${CLIENT[1]}"
done
# dump 1 holds everything up to the first window; each later dump, one window
for i in $(seq 2 "$dumps"); do
  total=$(grep -h '^summary:' "$out/cg.$i" | awk '{printf "%.0f", $2}')
  echo "load $load, window $((i - 1)): $(( total / n )) instructions per request"
done
