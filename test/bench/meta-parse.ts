/**
 * The meta commands' request path without sockets, beside the classic commands
 * doing the same work: TextProtocol.process() over pipelined buffers of `ms` vs
 * `set`, `mg v` vs `get`, and the flag-heavy `mg s v f t c` clients send, replies
 * into the connection's Output (drained, not written). Keys from a seeded
 * generator, buffers built before timing; medians of ROUNDS runs.
 *
 *   npm run build && node --expose-gc dist/test/bench/meta-parse.js
 */
import { Cache } from '../../src/cache/engine.js';
import { ManualClock } from '../../src/cache/clock.js';
import { defaultSettings } from '../../src/config.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../../src/protocol/context.js';
import { Output } from '../../src/protocol/output.js';
import { TextProtocol } from '../../src/protocol/text.js';
import { makeKeys, median, shuffled } from './keys.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const N = Number(process.env.BENCH_KEYS ?? 200_000);
const KEY_LEN = 24;
const VALUE_LEN = 100;
/** requests per simulated read, as a pipelining client sends them */
const PER_READ = 64;

const settings = { ...defaultSettings(), reqsPerEvent: 1 << 30 };
const cache = new Cache({ ...settings, clock: new ManualClock() });
const ctx: ServerContext = {
  cache, settings, counters: new ServerCounters(), startedAt: 0,
  setVerbosity: () => {}, shutdown: () => {}, connections: () => [],
};
const out = new Output(cache);
const conn: ProtoConn = {
  out, id: 1, transport: 'tcp', peer: 'bench', closing: false, authenticated: false,
  closeAfterWrite: () => {},
};
const proto = new TextProtocol(ctx, conn);

const keys = makeKeys(N, KEY_LEN);
const order = shuffled(N);
const value = 'v'.repeat(VALUE_LEN);

/** Requests grouped PER_READ to a buffer, as reads would deliver them. */
function reads(line: (k: string) => string): Buffer[] {
  const bufs: Buffer[] = [];
  let s = '';
  for (let i = 0; i < N; i++) {
    const j = order[i];
    s += line(keys.toString('latin1', j * KEY_LEN, (j + 1) * KEY_LEN));
    if ((i + 1) % PER_READ === 0 || i === N - 1) {
      bufs.push(Buffer.from(s, 'latin1'));
      s = '';
    }
  }
  return bufs;
}

function run(bufs: Buffer[]): number {
  const t0 = process.hrtime.bigint();
  for (const b of bufs) {
    const used = proto.process(b, 0, b.length);
    if (used !== b.length) throw new Error(`consumed ${used} of ${b.length}`);
    out.flush(() => {});
  }
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

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
