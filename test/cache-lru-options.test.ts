/**
 * The engine options behind -o no_lru_maintainer / no_modern / `lru mode flat` (the flat
 * LRU), hot_max_factor, warm_max_factor, tail_repair_time, no_hashexpand and
 * hash_algorithm: what each changes in the engine's behaviour, on a manual clock.
 */
import test from 'ava';
import { NREAD_SET, STORED } from '../src/cache/status.js';
import { COLD_LRU, HOT_LRU, SEG_MASK, SEG_SHIFT, WARM_LRU } from '../src/cache/item-header.js';
import { jenkinsHash } from '../src/cache/hash-algorithms.js';
import { xxh3Hash } from '../src/cache/xxh3-hash.js';
import { hashKey } from '../src/cache/hash-index.js';
import type { Cache } from '../src/cache/engine.js';
import { getS, k, makeCache, MB, setS, valueOf } from './cache-fixture.js';

const SET = NREAD_SET;

function segmentOf(cache: Cache, key: string): number {
  const h = cache.peek(k(key), 0, key.length);
  return (cache.hdr.itFlags(h) & SEG_MASK) >>> SEG_SHIFT;
}

/** Fills a 2 MB cache with 1000-byte items until `evictions` have happened; the keys set. */
function fillUntilEvicting(cache: Cache, onEach: (i: number) => void = () => {}): number {
  const v = Buffer.alloc(1000, 0x61);
  let i = 0;
  for (; cache.counters.evictions === 0; i++) {
    if (setS(cache, SET, 'k' + i, v) !== STORED) throw new Error(`k${i} not stored`);
    onEach(i);
  }
  return i;
}

test('flat LRU: one list, a hit item is not moved within the minute, so the oldest goes first', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB, lruSegmented: false });
  fillUntilEvicting(cache, () => {
    getS(cache, 'k0');
    getS(cache, 'k0');
  });
  t.is(getS(cache, 'k0'), null, 'k0, hit all along but oldest, was evicted');
  t.is(segmentOf(cache, 'k1'), COLD_LRU, 'every item lives in the one list');
  t.is(cache.lru.count[cache.classOf(cache.peek(k('k1'), 0, 2)) * 3 + HOT_LRU], 0, 'HOT stays empty');
});

test('flat LRU: a hit more than a minute after the last one moves the item to the head', (t) => {
  const { cache, clock } = makeCache({ maxbytes: 2 * MB, lruSegmented: false });
  const v = Buffer.alloc(1000, 0x61);
  for (let i = 0; i < 10; i++) setS(cache, SET, 'k' + i, v);
  clock.advance(61);
  getS(cache, 'k0');
  t.is(cache.lastAccess(cache.peek(k('k0'), 0, 2)), clock.now, 'refreshed');
  for (let i = 10; cache.counters.evictions < 9; i++) setS(cache, SET, 'k' + i, v);
  for (let i = 1; i < 10; i++) t.is(getS(cache, 'k' + i), null, `k${i}, set before k0 was hit, went first`);
  t.not(getS(cache, 'k0'), null, 'k0 was moved to the head');
});

test('segmented LRU, the same traffic: the item hit twice survives', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB });
  fillUntilEvicting(cache, () => {
    getS(cache, 'k0');
    getS(cache, 'k0');
  });
  t.not(getS(cache, 'k0'), null);
});

test('lru mode flat at run time: hits stop promoting; segmented again, they do', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB });
  cache.opts.lruSegmented = false;
  setS(cache, SET, 'b', 'x');
  getS(cache, 'b');
  getS(cache, 'b');
  t.is(segmentOf(cache, 'b'), COLD_LRU, 'flat: no move to WARM');
  cache.opts.lruSegmented = true;
  setS(cache, SET, 'c', 'x'); // HOT's share of two items is under one: c goes to COLD
  getS(cache, 'c');
  getS(cache, 'c');
  t.is(segmentOf(cache, 'c'), WARM_LRU, 'segmented: two hits in COLD move it to WARM');
});

/**
 * An item in COLD whose age sets the limits, then two items in HOT that sit for `idle`
 * seconds: on the next store, HOT keeps them or sends them to COLD by hot_max_factor.
 */
function hotAfterIdle(hotMaxFactor: number, idle: number): number {
  const { cache, clock } = makeCache({ hotLruPct: 79, warmLruPct: 1, hotMaxFactor });
  setS(cache, SET, 'c0', 'x');
  clock.advance(1);
  setS(cache, SET, 'x', 'x'); // COLD is empty, so its age is 0 and so is HOT's limit: c0 goes down
  setS(cache, SET, 'h1', 'x');
  clock.advance(idle);
  setS(cache, SET, 'trigger', 'x');
  const cls = cache.classOf(cache.peek(k('x'), 0, 1));
  return cache.lru.count[cls * 3 + HOT_LRU];
}

test('hot_max_factor: HOT keeps items idle less than the COLD tail age times the factor', (t) => {
  // c0 has sat 1 + idle s in COLD; x and h1 idle s in HOT
  t.is(hotAfterIdle(0.2, 3), 1, 'default 0.2: limit 0 s, x and h1 go to COLD');
  t.is(hotAfterIdle(10, 3), 3, '10: limit 40 s, x and h1 stay');
  t.is(hotAfterIdle(0.5, 3), 1, '0.5: limit 2 s, idle 3 s: down');
  t.is(hotAfterIdle(1, 3), 3, '1: limit 4 s, idle 3 s: kept');
});

test('warm_max_factor: WARM keeps items idle less than the COLD tail age times the factor', (t) => {
  const warmAfterIdle = (warmMaxFactor: number): number => {
    const { cache, clock } = makeCache({ hotLruPct: 1, warmLruPct: 79, warmMaxFactor });
    setS(cache, SET, 'c0', 'x'); // HOT is 1%: it goes to COLD at once
    setS(cache, SET, 'w', 'x');
    getS(cache, 'w');
    getS(cache, 'w'); // the second hit in COLD moves it to WARM
    t.is(segmentOf(cache, 'w'), WARM_LRU);
    clock.advance(4);
    setS(cache, SET, 'trigger', 'x');
    return segmentOf(cache, 'w');
  };
  // c0 has sat 4 s: the limit is 4 s times the factor
  t.is(warmAfterIdle(0.5), COLD_LRU, '0.5: limit 2 s, idle 4 s: down');
  t.is(warmAfterIdle(2), WARM_LRU, 'default 2: limit 8 s, kept');
});

test('tail_repair_time: a tail item pinned that long is unlinked and counted; its bytes live until unpinned', (t) => {
  const run = (tailRepairTime: number): { repairs: number; linked: boolean; intact: boolean } => {
    const { cache, clock } = makeCache({ maxbytes: 2 * MB, tailRepairTime });
    const v = Buffer.alloc(1000, 0x41);
    setS(cache, SET, 'p', v);
    const h = cache.peek(k('p'), 0, 1);
    cache.pin(h);
    clock.advance(20);
    const f = Buffer.alloc(1000, 0x42);
    for (let i = 0; cache.counters.evictions < 10; i++) setS(cache, SET, 'f' + i, f);
    const cls = cache.classOf(h);
    const out = { repairs: cache.classCounters.tailrepairs[cls], linked: getS(cache, 'p') !== null, intact: valueOf(cache, h).equals(v) };
    const used = cache.slabs.usedChunks[cls];
    cache.unpin(h);
    if (!out.linked) t.is(cache.slabs.usedChunks[cls], used - 1, 'unpin frees the repaired item');
    return out;
  };
  t.deepEqual(run(10), { repairs: 1, linked: false, intact: true }, 'held 20 s > 10 s: repaired');
  t.deepEqual(run(30), { repairs: 0, linked: true, intact: true }, 'held 20 s < 30 s: left alone');
  t.deepEqual(run(0), { repairs: 0, linked: true, intact: true }, 'off by default');
});

test('no_hashexpand: the table keeps its starting size, every key still found', (t) => {
  for (const hashExpand of [true, false]) {
    const { cache } = makeCache({ hashpowerInit: 4, hashExpand });
    for (let i = 0; i < 1000; i++) setS(cache, SET, 'h' + i, String(i));
    while (cache.maintain());
    t.is(cache.index.hashpower > 4, hashExpand, `hashExpand ${hashExpand}`);
    for (let i = 0; i < 1000; i++) if (getS(cache, 'h' + i) !== String(i)) return t.fail(`lost h${i}`);
  }
});

test('hash_algorithm: jenkins is lookup3 hashlittle with initval 0; the engine hashes with it', (t) => {
  // lookup3.c's own driver: hashlittle("", 0, 0) = 0xdeadbeef and
  // hashlittle("Four score and seven years ago", 30, 0) = 0x17770551
  t.is(jenkinsHash(Buffer.alloc(0), 0, 0) >>> 0, 0xdeadbeef);
  const four = k('Four score and seven years ago');
  t.is(jenkinsHash(four, 0, four.length) >>> 0, 0x17770551);
  const { cache } = makeCache({ hashAlgorithm: 'jenkins' });
  t.is(cache.keyHash(four, 0, four.length), jenkinsHash(four, 0, four.length));
  t.not(cache.keyHash(four, 0, four.length), hashKey(four, 0, four.length));
  for (let i = 0; i < 5000; i++) setS(cache, SET, 'j' + i, String(i));
  for (let i = 0; i < 5000; i++) if (getS(cache, 'j' + i) !== String(i)) return t.fail(`lost j${i}`);
  t.pass();
});

test('hash_algorithm: xxh3 is the low 32 bits of XXH3_64bits; the engine hashes with it', (t) => {
  // xxhash's own sanity check: XXH3_64bits of no bytes is 0x2D06800538D394C2
  t.is(xxh3Hash(Buffer.alloc(0), 0, 0) >>> 0, 0x38d394c2);
  const { cache } = makeCache({ hashAlgorithm: 'xxh3' });
  const key = k('x'.repeat(250));
  t.is(cache.keyHash(key, 0, 250), xxh3Hash(key, 0, 250));
  for (let i = 0; i < 5000; i++) setS(cache, SET, 'x' + i, String(i));
  for (let i = 0; i < 5000; i++) if (getS(cache, 'x' + i) !== String(i)) return t.fail(`lost x${i}`);
  t.pass();
});
