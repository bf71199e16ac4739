/**
 * Client-side consistent hashing, with real clients: libmemcached's ketama (pylibmc)
 * and pymemcache's HashClient split keys over three slabcache nodes exactly as over
 * three memcached nodes on the same ports, and a dead node costs only its own keys.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';

const run = promisify(execFile);
// Debian's interpreter: the one python3-pylibmc and python3-pymemcache install into
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'test', 'clients', 'hash_split.py');
const KEYS = 600;

async function client(kind: string, action: 'set' | 'get', nodes: readonly TestServer[]): Promise<Record<string, string | number>> {
  const { stdout } = await run(PYTHON, [SCRIPT, kind, action, nodes.map((n) => n.port).join(','), String(KEYS)], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, string | number>;
}

/** `hit 402, miss 198` */
function counts(results: readonly (string | number)[]): string {
  const n = new Map<string | number, number>();
  for (const r of results) n.set(r, (n.get(r) ?? 0) + 1);
  return [...n].map(([r, c]) => `${r} ${c}`).join(', ');
}

async function crash(node: TestServer): Promise<void> {
  node.child.kill('SIGKILL');
  await node.done;
}

for (const kind of ['pylibmc', 'pymemcache']) {
  test(`${kind}: the same key split over slabcache as over memcached, and a dead node costs its share`, async (t) => {
    const mc = [await startMemcached(t, ['-m', '8']), await startMemcached(t, ['-m', '8']), await startMemcached(t, ['-m', '8'])];
    const want = await client(kind, 'set', mc);
    t.is(Object.keys(want).length, KEYS, 'memcached: every key on a node');
    const ports = mc.map((n) => n.port);
    for (const n of mc) await crash(n);

    // the same ports, so the ring (built from host:port) is the same
    const sc: TestServer[] = [];
    for (const p of ports) sc.push(await startSlabcache(t, ['-m', '8', '-p', String(p)]));
    const got = await client(kind, 'set', sc);
    t.deepEqual(got, want, 'every key on the same node as with memcached');
    for (const p of ports) {
      const share = Object.values(got).filter((v) => v === p).length / KEYS;
      t.true(share > 0.15 && share < 0.55, `port ${p} holds ${(share * 100).toFixed(0)}% of the keys`);
    }

    await crash(sc[1]);
    const after = await client(kind, 'get', sc);
    t.log(`with node 2 dead: ${counts(Object.values(after))}`);
    const lost = Object.keys(got).filter((k) => got[k] === ports[1]).sort();
    t.deepEqual(Object.keys(after).filter((k) => after[k] !== 'hit').sort(), lost, 'only the dead node\'s keys are lost');
    t.deepEqual([...new Set(lost.map((k) => after[k]))].filter((r) => r !== 'miss' && r !== 'error'), [], 'lost keys miss or fail, never a wrong value');
  });
}
