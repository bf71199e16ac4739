/**
 * Self-checking values (key, version and checksum in the value; helpers/checked-values.ts)
 * written and read at once by clients on every worker thread (-t 4) are never torn, mixed
 * up, or older than a write acknowledged before the read: while the cache evicts, while
 * pages move between slab classes, while the hash table expands, across `flush_all`, and
 * over the binary protocol. Each test also checks that what it meant to provoke happened.
 */
import test from 'ava';
import memjs from 'memjs';
import { History, encodeValue, fnv1a } from './helpers/checked-values.js';
import { startThreaded, type ThreadedServer } from './helpers/threaded.js';
import type { TextPipe } from './helpers/text-pipe.js';
import { keyOf, mulberry32, valueLoad } from './helpers/value-load.js';

/** Resolves the next time tick() is called: lets a control loop follow the load's progress. */
class Ticks {
  count = 0;
  private waiters: Array<() => void> = [];
  tick = (n: number): void => {
    this.count = n;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  };
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Run `step` once per round of load (or less often, when one call outlasts several rounds)
 * until the load settles; the load's failure is the test's failure.
 */
async function alongside<T>(load: Promise<T>, ticks: Ticks, step: () => Promise<void>): Promise<T> {
  let finished = false;
  const settled = load.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  while (!finished) {
    await step();
    await Promise.race([ticks.next(), settled]);
  }
  return load;
}

const stat = (st: Map<string, string>, name: string): number => Number(st.get(name) ?? NaN);

/** Every key's newest acknowledged version, read back once no one writes. */
async function readBackAll(s: ThreadedServer, history: History, clients: number, keysPerClient: number): Promise<void> {
  for (let c = 0; c < clients; c++) {
    for (let j = 0; j < keysPerClient; j += 100) {
      const keys = Array.from({ length: Math.min(100, keysPerClient - j) }, (_, i) => keyOf(c, j + i));
      const token = history.beginRead(keys);
      const r = await s.control.one(`get ${keys.join(' ')}\r\n`);
      if (r.kind !== 'values') throw new Error(`get answered "${r.line}"`);
      const byKey = new Map(r.values.map((v) => [v.key, v]));
      for (const k of keys) {
        const v = byKey.get(k);
        history.checkRead(token, k, v === undefined ? null : v.data.toString('latin1'), v === undefined ? null : v.flags);
      }
    }
  }
}

test('while the cache evicts (-m 8): values never torn, mixed up or stale', async (t) => {
  const s = await startThreaded(t, ['-m', '8']);
  const clients = await s.pinned<TextPipe>(t, 1);
  const history = new History(true);
  let evicted = false;
  const ticks = new Ticks();
  const load = valueLoad({
    clients,
    history,
    keysPerClient: 3000,
    rounds: 40,
    maxRounds: 400,
    until: () => evicted,
    size: (key, version) => 200 + ((fnv1a(key) + version * 131) % 1800),
    onRound: ticks.tick,
  });
  await alongside(load, ticks, async () => {
    evicted = stat(await s.control.stats(), 'evictions') > 0;
  });
  const st = await s.control.stats();
  t.log(`hits ${history.hits}, misses ${history.misses}, evictions ${st.get('evictions')}`);
  t.deepEqual(history.problems, []);
  t.true(stat(st, 'evictions') > 0, 'the load filled the cache past -m 8 and it evicted');
  t.true(history.hits > 0, 'reads found values');
});

test('while pages move between slab classes (slabs reassign, slab_automove=2): values never torn, mixed up or stale', async (t) => {
  const s = await startThreaded(t, ['-m', '8', '-o', 'slab_automove=2']);
  const clients = await s.pinned<TextPipe>(t, 1);
  const history = new History(true);
  const SMALL_ROUNDS = 60;
  let moved = 0;
  let reassigned = 0;
  const replies = new Map<string, number>();
  const ticks = new Ticks();
  // small values of one class fill the cache first; then large ones need the small ones' pages
  const load = valueLoad({
    clients,
    history,
    keysPerClient: 12_000,
    setsPerRound: 200,
    rounds: SMALL_ROUNDS + 10,
    maxRounds: SMALL_ROUNDS + 300,
    until: () => moved > 0 && reassigned > 0,
    size: (key, version, round) => (round < SMALL_ROUNDS ? 100 + (fnv1a(key) % 8) : 1500 + ((fnv1a(key) + version) % 1500)),
    onRound: ticks.tick,
  });
  await alongside(load, ticks, async () => {
    moved = stat(await s.control.stats(), 'slabs_moved');
    // move a page to the class that evicts most, from the class holding the most pages
    const items = await s.control.stats('items');
    let dst = -1;
    let most = 0;
    for (const [name, v] of items) {
      const m = /^items:(\d+):evicted$/.exec(name);
      if (m !== null && Number(v) > most) [dst, most] = [Number(m[1]), Number(v)];
    }
    let src = -1;
    let pages = 1;
    for (const [name, v] of await s.control.stats('slabs')) {
      const m = /^(\d+):total_pages$/.exec(name);
      if (m !== null && Number(m[1]) !== dst && Number(v) > pages) [src, pages] = [Number(m[1]), Number(v)];
    }
    if (dst < 0 || src < 0) return;
    const reply = await s.control.line(`slabs reassign ${src} ${dst}\r\n`);
    replies.set(reply, (replies.get(reply) ?? 0) + 1);
    if (reply === 'OK') reassigned++;
  });
  const st = await s.control.stats();
  t.log(`hits ${history.hits}, misses ${history.misses}, slabs_moved ${st.get('slabs_moved')}, slabs reassign replies ${JSON.stringify([...replies])}`);
  t.deepEqual(history.problems, []);
  t.true(stat(st, 'slabs_moved') > 0, 'pages moved between classes during the load');
  t.true(reassigned > 0, `a slabs reassign was accepted (replies: ${JSON.stringify([...replies])})`);
  t.true(history.hits > 0, 'reads found values');
});

test('while the hash table expands (-o hashpower=13, 16,000 keys): nothing lost, never torn, mixed up or stale', async (t) => {
  // 13: memcached refuses a hash table no larger than its item lock table, 2^12 at -t 4
  const s = await startThreaded(t, ['-m', '64', '-o', 'hashpower=13']);
  const clients = await s.pinned<TextPipe>(t, 1);
  const KEYS = 4000;
  const history = new History(false); // nothing is evicted at -m 64: a miss of an acknowledged key is a loss
  let expanded = false;
  const ticks = new Ticks();
  const load = valueLoad({
    clients,
    history,
    keysPerClient: KEYS,
    rounds: KEYS / 40 + 20,
    maxRounds: 1000,
    until: () => expanded,
    size: (key, version) => 40 + ((fnv1a(key) + version) % 120),
    onRound: ticks.tick,
  });
  await alongside(load, ticks, async () => {
    const st = await s.control.stats();
    expanded = stat(st, 'hash_power_level') > 13 && stat(st, 'hash_is_expanding') === 0;
  });
  await readBackAll(s, history, clients.length, KEYS);
  const st = await s.control.stats();
  t.log(`hits ${history.hits}, misses ${history.misses}, hash_power_level ${st.get('hash_power_level')}, curr_items ${st.get('curr_items')}`);
  t.deepEqual(history.problems, []);
  t.is(stat(st, 'evictions'), 0, 'nothing was evicted, so every acknowledged key must be found');
  t.true(stat(st, 'hash_power_level') > 13, 'the hash table grew during the load');
  t.is(stat(st, 'curr_items'), clients.length * KEYS);
});

test('across flush_all: nothing acknowledged before a flush is read after it, values never torn or mixed up', async (t) => {
  const s = await startThreaded(t, ['-m', '64']);
  const clients = await s.pinned<TextPipe>(t, 1);
  const KEYS = 1500;
  const FLUSHES = 6;
  const history = new History(true);
  const ticks = new Ticks();
  let flushes = 0;
  const load = valueLoad({
    clients,
    history,
    keysPerClient: KEYS,
    rounds: 30,
    maxRounds: 600,
    until: () => flushes >= FLUSHES,
    size: (key, version) => 50 + ((fnv1a(key) + version) % 400),
    onRound: ticks.tick,
  });
  let lastFlushAt = 0;
  await alongside(load, ticks, async () => {
    // a flush every few rounds of the load, so values written on both sides of it are read
    if (flushes >= FLUSHES || ticks.count - lastFlushAt < 4) return;
    lastFlushAt = ticks.count;
    const acked = history.beginFlush();
    const reply = await s.control.line('flush_all\r\n');
    if (reply !== 'OK') throw new Error(`flush_all answered "${reply}"`);
    acked();
    flushes++;
  });
  // and once more with no one writing: every key must then be gone
  const acked = history.beginFlush();
  t.is(await s.control.line('flush_all\r\n'), 'OK');
  acked();
  const hitsBefore = history.hits;
  await readBackAll(s, history, clients.length, KEYS);
  t.log(`hits ${history.hits}, misses ${history.misses}, flushes ${flushes + 1}`);
  t.deepEqual(history.problems, []);
  t.is(flushes, FLUSHES, 'the flushes ran during the load');
  t.is(history.hits, hitsBefore, 'nothing is found after the last flush');
  t.true(hitsBefore > 0, 'reads found values between flushes');
  const st = await s.control.stats();
  t.is(stat(st, 'cmd_flush'), FLUSHES + 1);
});

test('binary protocol (memjs), while the cache evicts: values never torn, mixed up or stale', async (t) => {
  const s = await startThreaded(t, ['-m', '8']);
  const open = async (): Promise<memjs.Client> => {
    const c = memjs.Client.create(`${s.server.host}:${s.server.port}`, { retries: 0, timeout: 10, logger: { log: () => undefined } });
    await c.get('connect'); // memjs connects on its first request
    return c;
  };
  const clients = await s.pinned(t, 1, open, (c) => c.close());
  const history = new History(true);
  const KEYS = 2500;
  const ROUNDS = 50;
  let evicted = false;
  await Promise.all(
    clients.map(async ({ conn }, client) => {
      const rand = mulberry32(0xb1 + client);
      let cursor = 0;
      for (let round = 0; round < ROUNDS || (!evicted && round < ROUNDS * 8); round++) {
        const ops: Array<Promise<void>> = [];
        for (let i = 0; i < 60; i++) {
          if (i % 3 === 2) {
            const key = keyOf(Math.floor(rand() * clients.length), Math.floor(rand() * KEYS));
            const token = history.beginRead([key]);
            ops.push(conn.get(key).then((r) => history.checkRead(token, key, r.value === null ? null : r.value.toString('latin1'), null)));
          } else {
            const key = keyOf(client, cursor++ % KEYS);
            const version = history.nextVersion(key);
            const value = encodeValue(key, version, 300 + ((fnv1a(key) + version * 7) % 2500));
            // memjs writes requests in call order on one connection: this key's versions stay in order
            ops.push(conn.set(key, value, { expires: 0 }).then((ok) => history.ackWrite(key, version, ok ? 'STORED' : 'not stored')));
          }
        }
        await Promise.all(ops);
        if (client === 0 && round % 10 === 9) evicted = Number((await s.control.stats()).get('evictions')) > 0;
      }
    }),
  );
  const st = await s.control.stats();
  t.log(`hits ${history.hits}, misses ${history.misses}, evictions ${st.get('evictions')}`);
  t.deepEqual(history.problems, []);
  t.true(stat(st, 'evictions') > 0, 'the load filled the cache past -m 8 and it evicted');
  t.true(history.hits > 0, 'reads found values');
});
