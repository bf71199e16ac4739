/**
 * The text protocol's request path without sockets: TextProtocol.process() over
 * pipelined buffers of `set` and `get`, as a connection would feed it, replies
 * into the connection's Output (drained, not written). Keys from a seeded
 * generator, buffers built before timing; medians of ROUNDS runs.
 *
 *   npm run build && node --expose-gc dist/test/bench/text-parse.js
 */
import { cache, KEY_LEN, N, PER_READ, reads, ROUNDS, run, value, VALUE_LEN } from './protocol-rig.js';
import { median } from './keys.js';

const sets = reads((k) => `set ${k} 0 0 ${VALUE_LEN}\r\n${value}\r\n`);
const gets = reads((k) => `get ${k}\r\n`);

const setRates: number[] = [];
const getRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  (globalThis as { gc?: () => void }).gc?.();
  setRates.push(run(sets));
  getRates.push(run(gets));
}
const hits = cache.counters.get_cmds - cache.counters.get_misses;
if (hits !== N * ROUNDS) throw new Error(`only ${hits} of ${N * ROUNDS} gets hit`);
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
console.log(`text protocol, ${N} keys of ${KEY_LEN} B, values ${VALUE_LEN} B, ${PER_READ} requests per read, median of ${ROUNDS}`);
console.log(`  set  ${fmt(median(setRates))}`);
console.log(`  get  ${fmt(median(getRates))}`);
