/**
 * The text protocol's request path without sockets: TextProtocol.process() over
 * pipelined buffers of `set` and `get`, as a connection would feed it, replies
 * into the connection's Output (drained, not written). Keys from a seeded
 * generator, buffers built before timing; medians of ROUNDS runs.
 *
 *   npm run build && node --expose-gc dist/test/bench/text-parse.js
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

const sets = reads((k) => `set ${k} 0 0 ${VALUE_LEN}\r\n${value}\r\n`);
const gets = reads((k) => `get ${k}\r\n`);

function run(bufs: Buffer[]): number {
  const t0 = process.hrtime.bigint();
  for (const b of bufs) {
    const used = proto.process(b, 0, b.length);
    if (used !== b.length) throw new Error(`consumed ${used} of ${b.length}`);
    out.flush(() => {});
  }
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

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
