/**
 * Memory discipline as a test: items live in ArrayBuffers, so the JS heap must
 * not grow with the number of items.
 */
import test from 'ava';
import { NREAD_SET, STORED } from '../src/cache/status.js';
import { makeCache, MB } from './cache-fixture.js';

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (package.json ava.nodeArguments)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('1,000,000 items grow the JS heap by less than 10 MB over 100,000', (t) => {
  const { cache } = makeCache({ maxbytes: 1024 * MB });
  const key = Buffer.alloc(32);
  const value = Buffer.alloc(100, 0x76);
  const store = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      key.write(String(i).padStart(32, '0'), 0, 'latin1');
      if (cache.set(NREAD_SET, key, 0, 32, 0, 0, value, 0, 100) !== STORED) throw new Error(`set ${i} failed`);
    }
  };
  store(0, 100_000);
  const base = heapAfterGc();
  store(100_000, 1_000_000);
  while (cache.maintain());
  const grown = heapAfterGc() - base;
  t.is(cache.counters.curr_items, 1_000_000);
  t.is(cache.counters.evictions, 0);
  t.log(`heap grew ${(grown / MB).toFixed(2)} MB for 900,000 more items`);
  t.true(grown < 10 * MB, `heap grew ${grown} bytes`);
});
