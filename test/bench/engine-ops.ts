/** Engine alone, no sockets: sets/s and gets/s on 1M keys, 32-byte keys, 100-byte values. */
import { Cache } from '../../src/cache/engine.js';
import { NIL } from '../../src/cache/memory.js';
import { NREAD_SET, STORED } from '../../src/cache/status.js';
import { makeCache, MB } from '../cache-fixture.js';
import { makeKeys, shuffled } from './keys.js';

export const KEY_LEN = 32;
export const VALUE_LEN = 100;

export interface OpsResult { setsPerSec: number; getsPerSec: number; hits: number; cache: Cache }

export function benchOps(n: number): OpsResult {
  const keys = makeKeys(n, KEY_LEN);
  const order = shuffled(n);
  const value = Buffer.alloc(VALUE_LEN, 0x76);
  const out = Buffer.alloc(VALUE_LEN);
  const { cache } = makeCache({ maxbytes: 1024 * MB });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (cache.set(NREAD_SET, keys, i * KEY_LEN, KEY_LEN, 0, 0, value, 0, VALUE_LEN) !== STORED) throw new Error('set failed');
  }
  const setNs = Number(process.hrtime.bigint() - t0);
  let hits = 0;
  t0 = process.hrtime.bigint();
  for (let r = 0; r < 2; r++) {
    for (let i = 0; i < n; i++) {
      const h = cache.get(keys, order[i] * KEY_LEN, KEY_LEN);
      // read the value as a reply would: copied out
      if (h !== NIL) hits += cache.copyValue(h, out, 0) === VALUE_LEN ? 1 : 0;
    }
  }
  const getNs = Number(process.hrtime.bigint() - t0);
  return { setsPerSec: n / (setNs / 1e9), getsPerSec: (2 * n) / (getNs / 1e9), hits, cache };
}
