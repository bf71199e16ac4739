/**
 * A TextProtocol with no socket, for the request-path benchmarks (text-parse.ts,
 * meta-parse.ts): one engine, one Output drained after each simulated read, and
 * pipelined request buffers built from seeded keys before timing.
 */
import { Cache } from '../../src/cache/engine.js';
import { ManualClock } from '../../src/cache/clock.js';
import { defaultSettings } from '../../src/config.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../../src/protocol/context.js';
import { Output } from '../../src/protocol/output.js';
import { TextProtocol } from '../../src/protocol/text.js';
import { makeKeys, shuffled } from './keys.js';
import { daemonState } from '../../src/server-context.js';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const N = Number(process.env.BENCH_KEYS ?? 200_000);
export const KEY_LEN = 24;
export const VALUE_LEN = 100;
/** requests per simulated read, as a pipelining client sends them */
export const PER_READ = 64;

const settings = { ...defaultSettings(), reqsPerEvent: 1 << 30 };
export const cache = new Cache({ ...settings, clock: new ManualClock() });
const ctx: ServerContext = {
  cache, settings, counters: new ServerCounters(), startedAt: 0, ...daemonState(cache, settings),
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
export const value = 'v'.repeat(VALUE_LEN);

/** Requests grouped PER_READ to a buffer, as reads would deliver them. */
export function reads(line: (k: string) => string): Buffer[] {
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

/** Feeds every buffer through the protocol; requests per second. */
export function run(bufs: Buffer[]): number {
  const t0 = process.hrtime.bigint();
  for (const b of bufs) {
    const used = proto.process(b, 0, b.length);
    if (used !== b.length) throw new Error(`consumed ${used} of ${b.length}`);
    const sent = out.flush(() => {});
    if (sent) out.release(sent);
    out.idle();
  }
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}
