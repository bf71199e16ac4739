#!/usr/bin/env bash
# Side-by-side benchmark of a memcached-compatible server against memcached 1.6.18.
#   compare.sh 'SERVER_CMD' [ROUNDS]
# SERVER_CMD gets memcached's flags appended: -p PORT -l 127.0.0.1 -U 0 -m MB, and runs
# through bash in the directory you call this from (relative paths work).
# Tuning knobs are environment variables; see docs/performance.md.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 'SERVER_CMD' [ROUNDS]   e.g. $0 'node bin/slabcache.js -u nobody' 3" >&2
  exit 2
fi
for t in "${MEMCACHED:-/usr/bin/memcached}" "${MEMASLAP:-/usr/bin/memcaslap}" gcc python3; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t not found (apt-get install memcached libmemcached-tools gcc python3)" >&2; exit 2; }
done
exec python3 "$(dirname "$(readlink -f "$0")")/compare.py" "$@"
