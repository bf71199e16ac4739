/**
 * The warm restart snapshot at the engine level, without sockets: what comes back
 * is the same engine (pages, free lists, LRU order, hash index, counters), it keeps
 * working under eviction, and time spent down is counted.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cache, EngineOptions } from '../src/cache/engine.js';
import { ManualClock } from '../src/cache/clock.js';
import { NIL } from '../src/cache/memory.js';
import { W_NEXT } from '../src/cache/item-header.js';
import { SEGMENTS } from '../src/cache/lru.js';
import { consumeSnapshot, loadSnapshot } from '../src/cache/snapshot-read.js';
import { saveSnapshot } from '../src/cache/snapshot-write.js';
import { NREAD_SET } from '../src/cache/status.js';
import { defaultSettings } from '../src/config.js';
import { MB, getS, k, makeCache, setS, valueOf } from './cache-fixture.js';

function tmpFile(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-snap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'cache');
}

function settingsFor(over: Partial<EngineOptions> = {}): ReturnType<typeof defaultSettings> {
  const s = defaultSettings();
  s.maxbytes = over.maxbytes ?? 64 * MB;
  s.useCas = over.useCas ?? true;
  return s;
}

/** Keys of one LRU list, head to tail. */
function lruKeys(c: Cache, id: number): string[] {
  const out: string[] = [];
  for (let h = c.lru.head[id]; h !== NIL; h = c.hdr.get(h, W_NEXT)) {
    out.push(c.hdr.pageU8(h).toString('latin1', c.hdr.keyByte(h), c.hdr.keyByte(h) + c.hdr.nkey(h)));
  }
  return out;
}

/** A restart: the saved engine into a fresh one whose clock reads `downFor` seconds later. */
async function restart(t: { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void },
  a: { cache: Cache; clock: ManualClock }, over: Partial<EngineOptions> = {}, downFor = 0): Promise<{ cache: Cache; clock: ManualClock }> {
  const file = tmpFile(t);
  const settings = settingsFor(over);
  await saveSnapshot(a.cache, file, settings);
  const b = makeCache(over);
  b.clock.now += a.clock.now - b.clock.now + downFor;
  const r = await loadSnapshot(b.cache, b.clock, file, settings);
  t.is(r.restored, true, r.lines.map((l) => l.text).join('\n'));
  consumeSnapshot(file);
  return b;
}

test('the same engine comes back: pages, free lists, LRU order, index, counters', async (t) => {
  const a = makeCache();
  const big = Buffer.alloc(700_000, 'big');
  for (let i = 0; i < 3000; i++) setS(a.cache, NREAD_SET, `key${i}`, 'v'.repeat(1 + ((i * 37) % 3000)), i, i % 3 === 0 ? 0 : 5000);
  for (let i = 0; i < 5; i++) setS(a.cache, NREAD_SET, `big${i}`, big, 7);
  for (let i = 0; i < 3000; i += 7) a.cache.delete(k(`key${i}`), 0, `key${i}`.length);
  // hits move items between segments: LRU order is more than insertion order
  for (let r = 0; r < 2; r++) for (let i = 1; i < 3000; i += 5) getS(a.cache, `key${i}`);

  const b = await restart(t, a);
  const { cache: x } = a;
  const { cache: y } = b;
  for (let id = 0; id < (x.slabs.largest + 1) * SEGMENTS; id++) t.deepEqual(lruKeys(y, id), lruKeys(x, id), `LRU list ${id}`);
  t.deepEqual(y.slabs.freeHead, x.slabs.freeHead);
  t.deepEqual(y.slabs.freeCount, x.slabs.freeCount);
  t.deepEqual(y.slabs.usedChunks, x.slabs.usedChunks);
  t.deepEqual(y.slabs.totalPages, x.slabs.totalPages);
  t.deepEqual(y.slabs.pages, x.slabs.pages);
  t.deepEqual(y.lru.count, x.lru.count);
  t.deepEqual(y.classCounters.mem_requested, x.classCounters.mem_requested);
  t.is(y.counters.curr_items, x.counters.curr_items);
  t.is(y.counters.bytes, x.counters.bytes);
  t.is(y.index.items, x.index.items);
  t.is(y.casId, x.casId);
  t.is(y.mem.pagesInUse, x.mem.pagesInUse);
  for (let i = 0; i < 3000; i++) {
    const h = y.get(k(`key${i}`), 0, `key${i}`.length);
    if (i % 7 === 0) t.is(h, NIL);
    else t.true(h !== NIL && valueOf(y, h).equals(Buffer.from('v'.repeat(1 + ((i * 37) % 3000)))) && y.flags(h) === i, `key${i}`);
  }
  for (let i = 0; i < 5; i++) t.true(valueOf(y, y.get(k(`big${i}`), 0, 4)).equals(big));

  // it keeps working: fill far past -m, then every key still readable is right
  const model = new Map<string, string>();
  for (let i = 0; i < 40_000; i++) {
    const v = `${i}:`.padEnd(1 + ((i * 131) % 2000), 'w');
    setS(y, NREAD_SET, `new${i}`, v);
    model.set(`new${i}`, v);
  }
  t.true(y.counters.evictions > 0, 'evicting');
  let found = 0;
  for (const [key, v] of model) {
    const got = getS(y, key);
    if (got !== null) {
      found++;
      if (got !== v) t.fail(`${key} has the wrong value`);
    }
  }
  t.true(found > 1000);
  t.true(y.nextCas() > x.casId);
});

test('time spent down counts: what expired or was flushed meanwhile is gone at load', async (t) => {
  const a = makeCache();
  setS(a.cache, NREAD_SET, 'forever', 'f', 0, 0);
  setS(a.cache, NREAD_SET, 'short', 's', 0, 100);
  setS(a.cache, NREAD_SET, 'long', 'l', 0, 1000);
  const b = await restart(t, a, {}, 200);
  t.is(b.cache.counters.curr_items, 2, 'the expired one is not counted');
  t.is(getS(b.cache, 'short'), null);
  t.is(getS(b.cache, 'forever'), 'f');
  t.is(b.cache.ttl(b.cache.peek(k('long'), 0, 4)), 1000 - 200, 'expiry keeps its wall time');
  t.is(b.clock.processStarted, a.clock.processStarted, 'the clock carries on from the first start');

  // a delayed flush_all pending at the stop fires during the downtime
  b.cache.flush(50);
  setS(b.cache, NREAD_SET, 'later', 'x', 0, 0);
  const c = await restart(t, b, {}, 100);
  t.is(c.cache.counters.curr_items, 0);
  t.is(getS(c.cache, 'later'), null);
});

test('-C and -L engines round-trip too', async (t) => {
  for (const over of [{ useCas: false }, { preallocate: true }] as Partial<EngineOptions>[]) {
    const a = makeCache(over);
    for (let i = 0; i < 500; i++) setS(a.cache, NREAD_SET, `k${i}`, `value${i}`, i);
    setS(a.cache, NREAD_SET, 'chained', Buffer.alloc(600_000, 'c'));
    const b = await restart(t, a, over);
    t.is(b.cache.counters.curr_items, 501, JSON.stringify(over));
    t.is(getS(b.cache, 'k499'), 'value499');
    t.is(getS(b.cache, 'chained')?.length, 600_000);
    for (let i = 0; i < 20_000; i++) setS(b.cache, NREAD_SET, `n${i}`, 'y'.repeat(3000));
    t.true(b.cache.counters.evictions > 0);
  }
});

test('an upload cut by the stop and a pinned, deleted item are freed at load; pins are cleared', async (t) => {
  const a = makeCache();
  setS(a.cache, NREAD_SET, 'live', 'x');
  setS(a.cache, NREAD_SET, 'gone', 'y'.repeat(600_000));
  const pinnedLive = a.cache.get(k('live'), 0, 4);
  t.true(a.cache.pin(pinnedLive));
  const pinnedGone = a.cache.get(k('gone'), 0, 4);
  t.true(a.cache.pin(pinnedGone));
  a.cache.delete(k('gone'), 0, 4); // unlinked, but its chunks wait for the reader
  const upload = a.cache.alloc(k('half'), 0, 4, 0, 0, 700_000); // never stored
  t.not(upload, NIL);
  const used = (c: Cache): number => c.slabs.usedChunks.reduce((s, n) => s + n, 0);
  const b = await restart(t, a);
  t.is(used(b.cache), 1, 'only the live item holds a chunk');
  t.is(b.cache.counters.curr_items, 1);
  const h = b.cache.get(k('live'), 0, 4);
  t.is(b.cache.hdr.refcount(h), 0, 'no reader survives a restart');
  t.is(getS(b.cache, 'half'), null);
  // the freed chunks are reusable
  for (let i = 0; i < 3; i++) setS(b.cache, NREAD_SET, `big${i}`, Buffer.alloc(700_000, 'z'));
  t.is(getS(b.cache, 'big2')?.length, 700_000);
});

test('the snapshot keeps the key hash: found again under it, refused under another', async (t) => {
  const a = makeCache({ hashAlgorithm: 'jenkins' });
  for (let i = 0; i < 500; i++) setS(a.cache, NREAD_SET, `j${i}`, `value${i}`);
  const b = await restart(t, a, { hashAlgorithm: 'jenkins' });
  for (let i = 0; i < 500; i++) t.is(getS(b.cache, `j${i}`), `value${i}`);

  const file = tmpFile(t);
  await saveSnapshot(b.cache, file, settingsFor());
  const c = makeCache({ hashAlgorithm: 'murmur3' });
  const r = await loadSnapshot(c.cache, c.clock, file, settingsFor());
  t.false(r.restored);
  t.regex(r.lines.map((l) => l.text).join('\n'), /indexed with hash jenkins, this daemon uses murmur3/);
  t.is(getS(c.cache, 'j1'), null);
});

test('a cache grown by cache_memlimit past -m loads at a -m that big, and is refused at the old -m', async (t) => {
  const a = makeCache({ maxbytes: 8 * MB });
  t.true(a.cache.setMemLimit(100 * MB));
  const value = (i: number): string => `${i}:`.padEnd(20_000 + (i % 7) * 1000, 'g');
  for (let i = 0; i < 3500; i++) setS(a.cache, NREAD_SET, `g${i}`, value(i));
  t.is(a.cache.counters.evictions, 0);
  t.true(a.cache.mem.reservedPages > 72, `${a.cache.mem.reservedPages} pages, past the ones -m 8 made`);
  // the daemon saves the raised limit as maxbytes, as memcached saves settings.maxbytes
  const b = await restart(t, a, { maxbytes: 100 * MB });
  t.is(b.cache.counters.curr_items, 3500);
  for (let i = 0; i < 3500; i++) if (getS(b.cache, `g${i}`) !== value(i)) t.fail(`g${i}`);

  const file = tmpFile(t);
  await saveSnapshot(a.cache, file, settingsFor({ maxbytes: 100 * MB }));
  const c = makeCache({ maxbytes: 8 * MB });
  const r = await loadSnapshot(c.cache, c.clock, file, settingsFor({ maxbytes: 8 * MB }));
  t.false(r.restored);
  t.regex(r.lines.map((l) => l.text).join('\n'), /restart incompatible due to setting for \[maxbytes\] \[old value: 104857600\]/);
  t.is(c.cache.counters.curr_items, 0);
});
