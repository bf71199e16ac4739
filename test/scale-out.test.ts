/**
 * docs/scale-out.md's twemproxy setup, for real: nutcracker (ketama, fnv1a_64, names
 * for the ring, auto_eject_hosts) in front of three slabcache daemons, and the same
 * config in front of three memcached daemons. The key split must be the same; a
 * killed node must cost exactly its own share of keys (every other key still hits);
 * and once the node is back, nutcracker must route its keys to it again.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';
import { runProc, tmpDir, waitUntil } from './ops-proc.js';

const NUTCRACKER = process.env.NUTCRACKER_BIN ?? '/usr/sbin/nutcracker';
/**
 * Keys with a counter inside, not at the end: twemproxy's fnv1a_64 keeps the low 32 bits
 * of the hash, which barely move with the last byte, so `user:0`..`user:599` cluster on
 * the ring (0%, 80%, 20% over three nodes; see docs/scale-out.md).
 */
const KEYS = Array.from({ length: 600 }, (_, i) => `user:${i}:name`);
const NAMES = ['node1', 'node2', 'node3'];
/** nutcracker's server_retry_timeout: how long an ejected node stays out before a retry */
const RETRY_MS = 1000;
/**
 * nutcracker's timeout for a node's reply. Generous: on a busy machine a slow reply
 * would otherwise eject a live node. A killed node refuses connections at once.
 */
const REPLY_MS = 10_000;
const WAIT_MS = 30_000;

/** hit: the value asked for; stale: another value (a copy stored while the key's node was out) */
type Result = 'hit' | 'stale' | 'miss' | 'error';

/** One text-protocol connection that sends a request and reads its whole reply. */
class Client {
  private constructor(private readonly raw: RawClient) {}

  static async open(port: number): Promise<Client> {
    return new Client(await RawClient.connect(port));
  }

  /** The reply to `request`: one line, or VALUE blocks up to END. */
  async ask(request: string): Promise<string> {
    await this.raw.send(request);
    const r = await this.raw.waitFor((b) => {
      const nl = b.indexOf('\r\n');
      if (nl < 0) return -1;
      if (!b.subarray(0, 6).equals(Buffer.from('VALUE '))) return nl + 2;
      const end = b.indexOf('\r\nEND\r\n');
      return end < 0 ? -1 : end + 7;
    }, REPLY_MS + 5000);
    if (r.timedOut || r.bytes.length === 0) throw new Error(`no reply to ${JSON.stringify(request)}${r.closed ? ' (closed)' : ''}`);
    return r.bytes.toString('latin1');
  }

  async get(key: string, value: string): Promise<Result> {
    const reply = await this.ask(`get ${key}\r\n`);
    if (reply === 'END\r\n') return 'miss';
    if (reply === `VALUE ${key} 0 ${value.length}\r\n${value}\r\nEND\r\n`) return 'hit';
    if (reply.startsWith(`VALUE ${key} 0 `)) return 'stale';
    if (reply.startsWith('SERVER_ERROR')) return 'error';
    throw new Error(`get ${key}: unexpected reply ${JSON.stringify(reply)}`);
  }

  set(key: string, value: string): Promise<string> {
    return this.ask(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`);
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}

/**
 * Per key, what a get through `pool` answered. A SERVER_ERROR means nutcracker just
 * tried a dead node (and ejects it now): the key is asked again, for the answer the
 * pool gives from then on.
 */
async function getAll(pool: Client, value: (key: string) => string): Promise<Map<string, Result>> {
  const out = new Map<string, Result>();
  for (const key of KEYS) {
    let r: Result = 'error';
    await waitUntil(`an answer but SERVER_ERROR for ${key}`, async () => (r = await pool.get(key, value(key))) !== 'error', WAIT_MS);
    out.set(key, r);
  }
  return out;
}

/** Sets every key through the pool, retrying a key while the proxy answers SERVER_ERROR. */
async function setAll(pool: Client, keys: readonly string[], value: (key: string) => string): Promise<void> {
  for (const key of keys) {
    await waitUntil(`nutcracker to store ${key}`, async () => {
      const reply = await pool.set(key, value(key));
      if (reply === 'STORED\r\n') return true;
      if (reply.startsWith('SERVER_ERROR')) return false;
      throw new Error(`set ${key}: unexpected reply ${JSON.stringify(reply)}`);
    }, WAIT_MS);
  }
}

/** Per key, the index of the node that holds it with this value, asked of each node directly. */
async function split(nodes: readonly TestServer[], value: (key: string) => string): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const c = await Client.open(nodes[i].port);
    for (const key of KEYS) {
      if ((await c.get(key, value(key))) !== 'hit') continue;
      if (where.has(key)) throw new Error(`${key} is on node ${where.get(key)! + 1} and node ${i + 1}`);
      where.set(key, i);
    }
    await c.close();
  }
  return where;
}

const keysOf = (where: Map<string, number>, node: number): string[] =>
  KEYS.filter((k) => where.get(k) === node);

/**
 * nutcracker with one pool per entry of `pools`, listening on ports of its own; the
 * test's teardown stops it. Ready once every pool's port accepts connections.
 */
async function nutcracker(t: import('ava').ExecutionContext, pools: readonly (readonly TestServer[])[]): Promise<number[]> {
  const dir = tmpDir(t);
  const ports: number[] = [];
  let yaml = '';
  for (let p = 0; p < pools.length; p++) {
    ports.push(await freePort());
    yaml += `pool${p}:\n  listen: 127.0.0.1:${ports[p]}\n  hash: fnv1a_64\n  distribution: ketama\n`
      + `  auto_eject_hosts: true\n  server_retry_timeout: ${RETRY_MS}\n  server_failure_limit: 1\n  timeout: ${REPLY_MS}\n`
      + '  servers:\n' + pools[p].map((s, i) => `   - 127.0.0.1:${s.port}:1 ${NAMES[i]}\n`).join('');
  }
  const conf = join(dir, 'nutcracker.yml');
  writeFileSync(conf, yaml);
  const stats = await freePort();
  const proc = runProc(t, NUTCRACKER, ['-c', conf, '-s', String(stats), '-a', '127.0.0.1', '-o', join(dir, 'nutcracker.log')]);
  for (const port of ports) {
    await waitUntil(`nutcracker to accept on 127.0.0.1:${port}`, async () => {
      if (!proc.running()) throw new Error(`nutcracker exited: ${proc.output()}`);
      try {
        await (await RawClient.connect(port)).close();
        return true;
      } catch {
        return false;
      }
    }, WAIT_MS);
  }
  return ports;
}

/** Kills a node as a crash would, and waits until it is gone. */
async function crash(node: TestServer): Promise<void> {
  node.child.kill('SIGKILL');
  await node.done;
}

test('three slabcache nodes behind nutcracker split keys as memcached, and a dead node costs only its share', async (t) => {
  const sc = [await startSlabcache(t, ['-m', '8']), await startSlabcache(t, ['-m', '8']), await startSlabcache(t, ['-m', '8'])];
  const mc = [await startMemcached(t, ['-m', '8']), await startMemcached(t, ['-m', '8']), await startMemcached(t, ['-m', '8'])];
  const [scPort, mcPort] = await nutcracker(t, [sc, mc]);
  const scPool = await Client.open(scPort);
  const mcPool = await Client.open(mcPort);
  t.teardown(() => Promise.all([scPool.close(), mcPool.close()]));

  const v1 = (k: string): string => `v1-${k}`;
  await setAll(scPool, KEYS, v1);
  await setAll(mcPool, KEYS, v1);
  const before = await split(sc, v1);
  t.is(before.size, KEYS.length, 'every key is on exactly one slabcache node');
  t.deepEqual([...before], [...(await split(mc, v1))], 'the same key split as three memcached nodes');
  for (let i = 0; i < 3; i++) {
    const share = keysOf(before, i).length / KEYS.length;
    t.true(share > 0.15 && share < 0.55, `node${i + 1} holds ${(share * 100).toFixed(0)}% of the keys`);
  }

  // node2 dies, in both pools. nutcracker answers SERVER_ERROR for it once, ejects it,
  // and from then on sends its keys to the other nodes (and tries it again each RETRY_MS).
  await crash(sc[1]);
  await crash(mc[1]);
  const dead = keysOf(before, 1);
  const scAfter = await getAll(scPool, v1);
  const mcAfter = await getAll(mcPool, v1);
  const misses = KEYS.filter((k) => scAfter.get(k) === 'miss');
  t.deepEqual(misses, dead, 'the misses are exactly the dead node\'s keys');
  t.is(KEYS.filter((k) => scAfter.get(k) === 'hit').length, KEYS.length - dead.length, 'every other key still hits');
  t.deepEqual([...scAfter], [...mcAfter], 'the same hits and misses as the memcached pool');

  // While it is out, the pool stores its keys on the two others and serves them.
  await setAll(scPool, dead, v1);
  const served = await getAll(scPool, v1);
  t.deepEqual(KEYS.filter((k) => served.get(k) !== 'hit'), [], 'with the node out, every key is served');

  // node2 comes back on its port, empty. After server_retry_timeout nutcracker tries it,
  // and the ring sends its keys there again: a fresh set of one of them lands on it.
  const revived = await startSlabcache(t, ['-m', '8', '-p', String(sc[1].port)]);
  const direct = await Client.open(revived.port);
  t.teardown(() => direct.close());
  const probe = dead[0];
  await waitUntil(`nutcracker to route ${probe} to the revived node2 again`, async () => {
    const reply = await scPool.set(probe, 'v2');
    return reply === 'STORED\r\n' && (await direct.get(probe, 'v2')) === 'hit';
  }, WAIT_MS);

  // Back to the split from before: a new value for every key lands where it did at first.
  const v2 = (k: string): string => `v2-${k}`;
  await setAll(scPool, KEYS, v2);
  const nodes = [sc[0], revived, sc[2]];
  t.deepEqual([...(await split(nodes, v2))], [...before], 'after recovery, each key is on its first node again');
});
