import test from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import {
  casEnabled, exptimeUnix, forEachColdItem, forEachItem, keyString, largestClass, lruStats, mallocedBytes,
  POWER_SMALLEST, slabClassStats,
} from '../src/cache/inspect.js';
import { PAGE_SIZE } from '../src/cache/memory.js';
import { makeCache, MB, setS } from './cache-fixture.js';

/** Twenty same-size items k00..k19, one second apart, so LRU balancing has pushed the oldest to COLD. */
function filled(): ReturnType<typeof makeCache> & { cls: number } {
  const made = makeCache();
  for (let i = 0; i < 20; i++) {
    setS(made.cache, NREAD_SET, `k${String(i).padStart(2, '0')}`, 'v'.repeat(10), 0, i === 0 ? 100 : 0);
    made.clock.advance(1);
  }
  let cls = 0;
  forEachItem(made.cache, (h) => { cls = made.cache.classOf(h); });
  return { ...made, cls };
}

test('lruStats counts every segment and ages each tail from its last access', (t) => {
  const { cache, cls } = filled();
  const l = lruStats(cache, cls);
  t.is(l.number, 20);
  t.is(l.hot + l.warm + l.cold, 20);
  t.true(l.cold > 0);
  t.is(l.ageCold, 20); // k00 was stored 20 ticks ago and is the COLD tail
  t.is(lruStats(cache, cls + 1).number, 0);
  t.is(lruStats(cache, cls + 1).ageCold, 0);
});

test('forEachColdItem walks COLD newest first and stops when told; keys and expiry read back', (t) => {
  const { cache, cls, clock } = filled();
  const keys: string[] = [];
  forEachColdItem(cache, cls, (h) => { keys.push(keyString(cache, h)); return true; });
  t.is(keys.length, lruStats(cache, cls).cold);
  t.is(keys[keys.length - 1], 'k00');
  t.deepEqual([...keys].sort().reverse(), keys);
  let last = 0;
  forEachColdItem(cache, cls, (h) => { last = h; return keyString(cache, h) !== 'k00'; });
  t.is(exptimeUnix(cache, last), clock.processStarted + 2 + 100); // stored at rel_time 2 (the clock's start) for 100 s
  const seen: number[] = [];
  forEachColdItem(cache, cls, (h) => { seen.push(h); return false; });
  t.is(seen.length, 1);
  forEachColdItem(cache, 0, () => t.fail('class 0 holds nothing'));
  forEachColdItem(cache, largestClass(cache) + 1, () => t.fail('no such class'));
});

test('forEachItem visits each linked item once; slab figures add up', (t) => {
  const { cache, cls } = filled();
  const keys = new Set<string>();
  forEachItem(cache, (h) => keys.add(keyString(cache, h)));
  t.is(keys.size, 20);
  const sc = slabClassStats(cache, cls);
  t.is(sc.totalPages, 1);
  t.is(sc.chunksPerPage - sc.freeChunks, 20);
  t.true(sc.chunkSize >= cache.itemBytes(3, 10));
  t.is(mallocedBytes(cache), PAGE_SIZE);
  t.is(slabClassStats(cache, POWER_SMALLEST).totalPages, cls === POWER_SMALLEST ? 1 : 0);
  t.true(casEnabled(cache));
  t.false(casEnabled(makeCache({ useCas: false, maxbytes: 2 * MB }).cache));
});
