/**
 * The meta commands' request path without sockets, beside the classic commands
 * doing the same work: TextProtocol.process() over pipelined buffers of `ms` vs
 * `set`, `mg v` vs `get`, and the flag-heavy `mg s v f t c` clients send, replies
 * into the connection's Output (drained, not written). Keys from a seeded
 * generator, buffers built before timing; medians of ROUNDS runs.
 *
 *   npm run build && node --expose-gc dist/test/bench/meta-parse.js
 */
import { cache, KEY_LEN, N, PER_READ, reads, ROUNDS, run, value, VALUE_LEN } from './protocol-rig.js';
import { median } from './keys.js';

const cases: Array<[string, Buffer[]]> = [
  ['set', reads((k) => `set ${k} 0 0 ${VALUE_LEN}\r\n${value}\r\n`)],
  ['ms', reads((k) => `ms ${k} ${VALUE_LEN} T0 F0\r\n${value}\r\n`)],
  ['get', reads((k) => `get ${k}\r\n`)],
  ['mg v', reads((k) => `mg ${k} v\r\n`)],
  ['mg s v f t c', reads((k) => `mg ${k} s v f t c\r\n`)],
  ['mg v q k (quiet)', reads((k) => `mg ${k} v q k\r\n`)],
];
const rates = cases.map((): number[] => []);
for (let r = 0; r < ROUNDS; r++) {
  (globalThis as { gc?: () => void }).gc?.();
  cases.forEach(([, bufs], i) => rates[i].push(run(bufs)));
}
const misses = cache.counters.get_misses;
if (misses !== 0) throw new Error(`${misses} gets missed`);
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
console.log(`meta vs text protocol, ${N} keys of ${KEY_LEN} B, values ${VALUE_LEN} B, ${PER_READ} requests per read, median of ${ROUNDS}`);
const base: Record<string, number> = { ms: median(rates[0]), mg: median(rates[2]) };
cases.forEach(([name], i) => {
  const m = median(rates[i]);
  const vs = name === 'ms' ? base.ms : name.startsWith('mg') ? base.mg : 0;
  console.log(`  ${name.padEnd(18)} ${fmt(m)}${vs ? `  (${(m / vs).toFixed(2)}x the classic command)` : ''}`);
});
