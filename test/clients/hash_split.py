"""Client-side consistent hashing over a pool of servers, as docs/scale-out.md sets it up.

    hash_split.py CLIENT set|get PORT1,PORT2,PORT3 NKEYS

CLIENT is `pylibmc` (libmemcached's ketama) or `pymemcache` (HashClient). `set` stores
key:N:name = v-key:N:name for N < NKEYS through the pool, then asks every server directly
which keys it holds, and prints {key: port}. `get` reads every key through the pool and
prints {key: "hit" | "miss" | "error"}. One JSON object on stdout.
"""
import json
import sys

import pylibmc
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient


def pool(kind, ports):
    if kind == "pylibmc":
        return pylibmc.Client([f"127.0.0.1:{p}" for p in ports], binary=False,
                              behaviors={"ketama": True, "connect_timeout": 1000})
    return HashClient([("127.0.0.1", p) for p in ports], connect_timeout=1, timeout=1,
                      ignore_exc=True, retry_attempts=1, retry_timeout=0, dead_timeout=60)


def main():
    kind, action, ports, n = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")], int(sys.argv[4])
    keys = [f"key:{i}:name" for i in range(n)]
    c = pool(kind, ports)
    out = {}
    if action == "set":
        for k in keys:
            v = f"v-{k}".encode()
            # pymemcache sends sets noreply by default; the direct reads below must not race them
            if not (c.set(k, v) if kind == "pylibmc" else c.set(k, v, noreply=False)):
                raise SystemExit(f"set {k} failed")
        for p in ports:
            direct = Client(("127.0.0.1", p))
            for k, v in direct.get_many(keys).items():
                out[k] = p
            direct.close()
    else:
        for k in keys:
            try:
                v = c.get(k)
            except pylibmc.Error:
                out[k] = "error"
                continue
            out[k] = "hit" if v == f"v-{k}".encode() else "miss" if v is None else f"wrong {v!r}"
    print(json.dumps(out))


main()
