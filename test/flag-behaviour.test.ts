/**
 * `-o` keys that change what a client sees, against memcached 1.6.18 with the same
 * flags: hash_algorithm (the order of `stats detail dump` follows the key hash),
 * no_hashexpand (hash_power_level stays put), and the key accepted without effect,
 * which says so at startup.
 */
import test from 'ava';
import { playBoth } from './helpers/differential.js';
import { startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';

// prefixes from 1 to 243 bytes: every length class of each hash (xxh3 has six paths)
const PREFIXES = Array.from({ length: 121 }, (_, i) => `${i}${'y'.repeat(2 * i)}`);

for (const algo of ['jenkins', 'murmur3', 'xxh3']) {
  test(`hash_algorithm=${algo}: stats detail dump orders prefixes by that hash, as memcached's`, async (t) => {
    const sets = PREFIXES.map((p) => `set ${p}:k 0 0 1 noreply\r\nx\r\n`).join('');
    const { slabcache } = await playBoth(t, ['stats detail on\r\n', sets, 'stats detail dump\r\n'], {
      args: ['-o', `hash_algorithm=${algo}`],
    });
    const dump = slabcache.replies[2].text;
    t.is(dump.split('\r\n').filter((l) => l.startsWith('PREFIX')).length, PREFIXES.length);
  });
}

test('jenkins, murmur3 and xxh3 order the prefixes differently (so the test above can tell them apart)', async (t) => {
  const dumps = await Promise.all(['jenkins', 'murmur3', 'xxh3'].map(async (algo) => {
    const s = await startSlabcache(t, ['-o', `hash_algorithm=${algo}`]);
    const c = await RawClient.connect(s.port, s.host);
    t.teardown(() => c.close());
    await c.send(`stats detail on\r\n${PREFIXES.map((p) => `set ${p}:k 0 0 1 noreply\r\nx\r\n`).join('')}stats detail dump\r\n`);
    return (await c.readUntil('END\r\n')).toString('latin1');
  }));
  t.is(new Set(dumps).size, 3);
});

/** hash_power_level and hash_is_expanding from `stats`. */
async function hashStats(c: RawClient): Promise<{ power: number; expanding: number }> {
  await c.send('stats\r\n');
  const s = (await c.readUntil('END\r\n')).toString('latin1');
  return {
    power: Number(/STAT hash_power_level (\d+)/.exec(s)?.[1]),
    expanding: Number(/STAT hash_is_expanding (\d+)/.exec(s)?.[1]),
  };
}

/** Stores n small items (pipelined, noreply) and waits for the last one to be there. */
async function fill(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    let batch = '';
    for (let j = i; j < Math.min(n, i + 1000); j++) batch += `set key${j} 0 0 1 noreply\r\nx\r\n`;
    await c.send(batch);
  }
  await c.send('mn\r\n');
  await c.readUntil('MN\r\n');
}

/** Asks `stats` until the table reaches `power` and is done moving; throws after 10 s. */
async function untilPower(c: RawClient, power: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const h = await hashStats(c);
    if (h.power === power && h.expanding === 0) return;
    if (Date.now() > deadline) throw new Error(`hash_power_level ${h.power} (expanding ${h.expanding}) after 10 s, waited for ${power}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('no_hashexpand: past 1.5 items per bucket the table stays at hashpower; without it, it doubles', async (t) => {
  // 2^13 buckets grow past 12288 items; the growing pair proves 13000 is enough, on both servers
  const cases: Array<[TestServer, number]> = [];
  for (const [opt, power] of [['hashpower=13,no_hashexpand', 13], ['hashpower=13', 14]] as const) {
    cases.push([await startMemcached(t, ['-o', opt]), power], [await startSlabcache(t, ['-o', opt]), power]);
  }
  await Promise.all(cases.map(async ([server, power]) => {
    const c = await RawClient.connect(server.port, server.host);
    t.teardown(() => c.close());
    await fill(c, 13_000);
    await untilPower(c, power);
    // and it stays there: one more store, one more look
    await fill(c, 1);
    t.deepEqual(await hashStats(c), { power, expanding: 0 });
  }));
});

for (const [flag, says] of [
  ['read_buf_mem_limit=4', /^warning: -o read_buf_mem_limit accepted for compatibility, no effect here: /m],
] as const) {
  test(`-o ${flag} says at startup, on one line, that it has no effect here`, async (t) => {
    const s = await startSlabcache(t, ['-o', flag]);
    const c = await RawClient.connect(s.port, s.host);
    t.teardown(() => c.close());
    await c.send('mn\r\n');
    await c.readUntil('MN\r\n');
    t.regex(s.output(), says);
  });
}
