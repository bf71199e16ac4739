/** Builds engines for tests and benchmarks: the daemon's defaults, a manual clock. */
import { Cache, EngineOptions } from '../src/cache/engine.js';
import { ManualClock } from '../src/cache/clock.js';
import { NIL } from '../src/cache/memory.js';
import { defaultSettings } from '../src/config.js';

export const MB = 1024 * 1024;

export function makeCache(over: Partial<EngineOptions> = {}): { cache: Cache; clock: ManualClock } {
  const clock = new ManualClock();
  const cache = new Cache({
    maxbytes: 64 * MB, itemSizeMax: 1 * MB, growthFactor: defaultSettings().growthFactor, chunkSize: 48,
    slabChunkMax: 512 * 1024, evictToFree: true, useCas: true, preallocate: false,
    hashpowerInit: 0, hotLruPct: 20, warmLruPct: 40, clock, ...over,
  });
  return { cache, clock };
}

export const k = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Test-side conveniences: strings in, strings out. */
export function setS(cache: Cache, mode: number, key: string, value: string | Buffer, flags = 0, exptime = 0, cas = 0): number {
  const kb = k(key);
  const vb = typeof value === 'string' ? k(value) : value;
  return cache.set(mode, kb, 0, kb.length, flags, exptime, vb, 0, vb.length, cas);
}

export function valueOf(cache: Cache, h: number): Buffer {
  const out = Buffer.alloc(cache.valueLength(h));
  cache.copyValue(h, out, 0);
  return out;
}

/** get as a string, or null on a miss */
export function getS(cache: Cache, key: string): string | null {
  const kb = k(key);
  const h = cache.get(kb, 0, kb.length);
  return h === NIL ? null : valueOf(cache, h).toString('latin1');
}
