/**
 * `npm run bench`: engine figures without sockets (see docs/performance.md).
 * Medians of ROUNDS runs; keys from a seeded generator, built before timing.
 */
import os from 'node:os';
import { benchOps, KEY_LEN, VALUE_LEN } from './engine-ops.js';
import { engineFill, memcachedFill } from './engine-fill.js';
import { median } from './keys.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const N = Number(process.env.BENCH_KEYS ?? 1_000_000);
const MB = 1024 * 1024;

function gcHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

const sets: number[] = [];
const gets: number[] = [];
let heap = 0;
let rss = 0;
let overhead = 0;
for (let r = 0; r < ROUNDS; r++) {
  const before = gcHeap();
  const res = benchOps(N);
  if (res.hits !== 2 * N) throw new Error(`only ${res.hits} of ${2 * N} gets hit`);
  sets.push(res.setsPerSec);
  gets.push(res.getsPerSec);
  heap = gcHeap() - before;
  rss = process.memoryUsage().rss;
  overhead = res.cache.counters.bytes / res.cache.counters.curr_items - KEY_LEN - VALUE_LEN;
}
const fill32 = engineFill(32, 100);
const fill15 = engineFill(15, 100);
const mc32 = await memcachedFill(32, 100);
const mc15 = await memcachedFill(15, 100);

const row = (a: string, b: string): void => console.log(`${a.padEnd(52)} ${b}`);
console.log(`slabcache engine benchmark, ${new Date().toISOString().slice(0, 16)}Z, ${os.cpus().length} cores, node ${process.version}, ${ROUNDS} rounds (medians)`);
row('metric', 'value');
row('-'.repeat(52), '-'.repeat(24));
row(`sets/s (${N} keys, ${KEY_LEN} B keys, ${VALUE_LEN} B values)`, Math.round(median(sets)).toLocaleString('en-US'));
row(`gets/s (same keys, shuffled, value copied out)`, Math.round(median(gets)).toLocaleString('en-US'));
row('header bytes per item (with CAS)', String(overhead));
row(`JS heap growth for ${N} items (after GC)`, `${(heap / MB).toFixed(1)} MB`);
row('process RSS after the run', `${(rss / MB).toFixed(0)} MB`);
const ratio = (a: number, b: number | null): string => (b ? ` (memcached 1.6: ${b.toLocaleString('en-US')}, ratio ${(a / b).toFixed(3)})` : ' (memcached not installed)');
row('items in -m 64 before 1st eviction, 32 B keys/100 B', fill32.items.toLocaleString('en-US') + ratio(fill32.items, mc32));
row('items in -m 64 before 1st eviction, 15 B keys/100 B', fill15.items.toLocaleString('en-US') + ratio(fill15.items, mc15));
