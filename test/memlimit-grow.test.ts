/**
 * `cache_memlimit` above the starting -m: the cache grows to the new limit, as
 * memcached's does (it mallocs more pages), and evicts again only there. The same
 * requests go to memcached and to slabcache, and what both report is compared;
 * slabcache's values are then read back whole.
 */
import test, { type ExecutionContext } from 'ava';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { stats, telnet, type Telnet } from './helpers/telnet.js';

const MB = 1024 * 1024;
/** Large values: a few round trips fill many pages, in one slab class. */
const VALUE_BYTES = 100 * 1024;
const START_MB = 8;
/** More than the pages an engine sized by -m 8 has beside its limit (64, one per class). */
const RAISED_MB = 100;
/** Sets per pipelined batch, then a barrier (`mn`). */
const BATCH = 20;

/** A value that says which key it belongs to, all through. */
function valueFor(i: number): Buffer {
  const b = Buffer.alloc(VALUE_BYTES);
  const tag = Buffer.from(`<k${i}>`, 'latin1');
  for (let p = 0; p < VALUE_BYTES; p += tag.length) tag.copy(b, p);
  return b;
}

async function stat(c: Telnet, name: string, group = ''): Promise<number> {
  const v = (await stats(c, group)).get(name);
  if (v === undefined) throw new Error(`no STAT ${name} in stats ${group}`);
  return Number(v);
}

async function setBatch(c: Telnet, from: number): Promise<void> {
  const parts: Buffer[] = [];
  for (let i = from; i < from + BATCH; i++) {
    parts.push(Buffer.from(`set k${i} 0 0 ${VALUE_BYTES} noreply\r\n`, 'latin1'), valueFor(i), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('mn\r\n'));
  await c.send(Buffer.concat(parts));
  const reply = (await c.readUntil('MN\r\n', 10_000)).toString('latin1');
  if (reply !== 'MN\r\n') throw new Error(`sets answered ${JSON.stringify(reply.slice(0, 80))}`);
}

/** Sets keys from `next` on, a batch at a time, until evictions pass `evictions`; stops at `max` keys. */
async function fillUntilEviction(c: Telnet, next: number, evictions: number, max: number): Promise<number> {
  while (next < max) {
    await setBatch(c, next);
    next += BATCH;
    if (await stat(c, 'evictions') > evictions) return next;
  }
  throw new Error(`no eviction after ${max} values of ${VALUE_BYTES} bytes`);
}

interface Growth {
  reply: string;
  maxbytes: number;
  limitMaxbytes: number;
  /** total_malloced and curr_items when -m 8 first evicted, and when the raised limit did */
  mallocedAt8: number;
  itemsAt8: number;
  mallocedAtRaised: number;
  itemsAtRaised: number;
  /** keys set between the raise and the next eviction */
  firstAfterRaise: number;
  lastSet: number;
}

/** -m 8 filled to its first eviction, cache_memlimit 100, filled to the next one. */
async function grow(t: ExecutionContext, c: Telnet): Promise<Growth> {
  let next = await fillUntilEviction(c, 0, 0, 1000);
  const mallocedAt8 = await stat(c, 'total_malloced', 'slabs');
  const itemsAt8 = await stat(c, 'curr_items');
  const evicted = await stat(c, 'evictions');
  await c.send(`cache_memlimit ${RAISED_MB}\r\n`);
  const reply = (await c.readUntil('\r\n')).toString('latin1');
  const firstAfterRaise = next;
  next = await fillUntilEviction(c, next, evicted, 10_000);
  t.log(`-m ${START_MB}: ${itemsAt8} items; raised to ${RAISED_MB}: ${await stat(c, 'curr_items')} items`);
  return {
    reply,
    maxbytes: await stat(c, 'maxbytes', 'settings'),
    limitMaxbytes: await stat(c, 'limit_maxbytes'),
    mallocedAt8,
    itemsAt8,
    mallocedAtRaised: await stat(c, 'total_malloced', 'slabs'),
    itemsAtRaised: await stat(c, 'curr_items'),
    firstAfterRaise,
    lastSet: next - 1,
  };
}

test('cache_memlimit above -m grows the cache to the new limit, as memcached does', async (t) => {
  const args = ['-m', String(START_MB), '-t', '1', '-U', '0'];
  const [mc, sc] = await Promise.all([startMemcached(t, args), startSlabcache(t, args)]);
  const [m, s] = await Promise.all([telnet(t, mc), telnet(t, sc)]);
  const [theirs, ours] = await Promise.all([grow(t, m), grow(t, s)]);
  t.is(ours.reply, 'OK\r\n');
  t.is(theirs.reply, 'OK\r\n');
  for (const g of [theirs, ours]) {
    t.is(g.maxbytes, RAISED_MB * MB, 'stats settings maxbytes is the new limit');
    t.is(g.limitMaxbytes, RAISED_MB * MB, 'stats limit_maxbytes is the new limit');
    t.is(g.mallocedAt8, START_MB * MB, 'the first eviction came at -m');
    t.is(g.mallocedAtRaised, RAISED_MB * MB, 'the next eviction came only at the new limit');
    t.true(g.itemsAtRaised >= g.itemsAt8 * (RAISED_MB / START_MB) * 0.9,
      `${g.itemsAtRaised} items under ${RAISED_MB} MB, ${g.itemsAt8} under ${START_MB} MB`);
  }
  // every value set after the raise is still there, whole, until the cache was full again
  let read = 0;
  for (let i = ours.firstAfterRaise; i <= ours.lastSet - BATCH; i++) {
    await s.send(`get k${i}\r\n`);
    const head = `VALUE k${i} 0 ${VALUE_BYTES}\r\n`;
    const got = await s.readUntil('END\r\n', 10_000);
    if (!got.subarray(0, head.length).equals(Buffer.from(head, 'latin1'))
      || !got.subarray(head.length, head.length + VALUE_BYTES).equals(valueFor(i))
      || got.length !== head.length + VALUE_BYTES + 7) {
      t.fail(`k${i}: ${JSON.stringify(got.subarray(0, 60).toString('latin1'))} (${got.length} bytes)`);
      return;
    }
    read++;
  }
  t.true(read > ours.itemsAt8 * 5, `${read} values read back`);
});

test('with -L, cache_memlimit is refused either way, as memcached cannot adjust preallocated memory', async (t) => {
  const args = ['-m', '64', '-L', '-U', '0'];
  const [mc, sc] = await Promise.all([startMemcached(t, args), startSlabcache(t, args)]);
  const [m, s] = await Promise.all([telnet(t, mc), telnet(t, sc)]);
  const ask = async (c: Telnet): Promise<[string, number]> => {
    await c.send('cache_memlimit 128\r\ncache_memlimit 32\r\ncache_memlimit 100 noreply\r\nmn\r\n');
    return [(await c.readUntil('MN\r\n')).toString('latin1'), await stat(c, 'maxbytes', 'settings')];
  };
  const [theirs, ours] = await Promise.all([ask(m), ask(s)]);
  t.deepEqual(ours, theirs);
  t.deepEqual(ours, ['MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n'.repeat(2) + 'MN\r\n', 64 * MB]);
});
