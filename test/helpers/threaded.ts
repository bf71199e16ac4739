/**
 * A multi-threaded server under test and client connections spread over all its workers.
 *
 *   const s = await startThreaded(t, ['-m', '64']);          // our daemon at -t 4
 *   const conns = await s.pinned(t, 2);                       // 2 connections on every worker
 *
 * `pinned` opens connections one at a time and, after each, polls `stats threads` until the
 * new connection shows up in one worker's curr_connections: so every connection handed back
 * is known to be served by a given worker, and the load of a test reaches every worker.
 * If the kernel keeps giving connections to the same workers, it opens more (bounded), keeping
 * a connection on each worker that has its share busy meanwhile, and then fails saying how
 * they were spread.
 *
 * THREADS_TEST_REFERENCE=memcached runs the same tests against /usr/bin/memcached -t 4, to
 * show that they pass on a server known to be right. memcached has no `stats threads`, so
 * only in that run the connections are opened without knowing their worker. The suite never
 * sets it.
 */
import type { ExecutionContext } from 'ava';
import { startMemcached, startSlabcache, type TestServer } from './memcached.js';
import type { Address } from './telnet.js';
import { TextPipe } from './text-pipe.js';

export const WORKERS = 4;

export interface ThreadedServer {
  readonly server: TestServer;
  /** true when this is the reference memcached (THREADS_TEST_REFERENCE=memcached) */
  readonly reference: boolean;
  /** a connection of its own for `stats` and admin commands (counted as one of the server's) */
  readonly control: TextPipe;
  /**
   * `perWorker` connections on each worker, opened by `open`; each one's worker index is known
   * (except on the reference run, where they are numbered round robin). Closed at teardown.
   */
  pinned<C>(t: ExecutionContext, perWorker: number, open?: () => Promise<C>, close?: (c: C) => Promise<void> | void): Promise<Array<Pinned<C>>>;
}

export interface Pinned<C> {
  conn: C;
  worker: number;
}

export const referenceRun = process.env.THREADS_TEST_REFERENCE === 'memcached';

/** How many connections pinned() may open per one it needs before it gives up: with one listening socket shared by the workers (no reusePort, Node 20) the kernel spreads them unevenly. */
const TRIES_PER_CONNECTION = 32;
const POLL_LIMIT_MS = 10_000;

export async function startThreaded(t: ExecutionContext, args: string[] = []): Promise<ThreadedServer> {
  const all = ['-t', String(WORKERS), ...args];
  const server = referenceRun ? await startMemcached(t, all) : await startSlabcache(t, all);
  const control = await TextPipe.connect(server);
  t.teardown(() => control.close());
  const threads = (await control.stats()).get('threads');
  if (threads !== String(WORKERS)) throw new Error(`stats says threads ${threads}, started with -t ${WORKERS}`);

  return {
    server,
    reference: referenceRun,
    control,
    async pinned<C>(tt: ExecutionContext, perWorker: number, open?: () => Promise<C>, close?: (c: C) => Promise<void> | void) {
      const opener = open ?? ((() => TextPipe.connect(server)) as unknown as () => Promise<C>);
      const closer = close ?? ((c: C) => (c as unknown as TextPipe).close());
      const opened: C[] = [];
      const helpers: TextPipe[] = [];
      tt.teardown(async () => {
        await Promise.all([...opened.map(async (c) => closer(c)), ...helpers.map((h) => h.close())]);
      });
      if (referenceRun) {
        const out: Array<Pinned<C>> = [];
        for (let i = 0; i < WORKERS * perWorker; i++) {
          const conn = await opener();
          opened.push(conn);
          out.push({ conn, worker: i % WORKERS });
        }
        return out;
      }
      const out = await spread(server, control, perWorker, opener, opened, helpers);
      tt.log(`${opened.length} connections (and ${helpers.length} helpers to keep full workers busy) opened to have ${perWorker} on each of ${WORKERS} workers`);
      return out;
    },
  };
}

/** Per-worker curr_connections from `stats threads`. */
export async function workerConnections(control: TextPipe): Promise<number[]> {
  const st = await control.stats('threads');
  const counts: number[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const v = st.get(`${i}:curr_connections`);
    if (v === undefined) throw new Error(`stats threads has no ${i}:curr_connections: ${JSON.stringify([...st])}`);
    counts.push(Number(v));
  }
  return counts;
}

/** Poll per-worker counts until their sum is `total`; fails saying what it saw. */
async function countsWhenTotal(control: TextPipe, total: number, what: string): Promise<number[]> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let counts = await workerConnections(control);
  while (counts.reduce((a, b) => a + b, 0) !== total) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: waited ${POLL_LIMIT_MS} ms for the workers' curr_connections to add up to ${total}; last: [${counts.join(', ')}]`);
    }
    await new Promise((resolve) => setImmediate(resolve));
    counts = await workerConnections(control);
  }
  return counts;
}

/** `mn` requests sent to each busy connection while a connection is being placed. */
const BUSY_REQUESTS = 30_000;

async function spread<C>(server: Address, control: TextPipe, perWorker: number, open: () => Promise<C>, opened: C[], helpers: TextPipe[]): Promise<Array<Pinned<C>>> {
  // only the control connection is open: every later rise is one of ours
  let before = await countsWhenTotal(control, 1, 'before opening client connections (only the control connection open)');
  let live = 1;
  let tries = 0;
  /** Open a connection, wait until a worker counts it, and say which worker. */
  const place = async <X>(opener: () => Promise<X>, keep: X[]): Promise<{ conn: X; worker: number }> => {
    const conn = await opener();
    keep.push(conn);
    live++;
    tries++;
    const after = await countsWhenTotal(control, live, `after opening connection ${tries}`);
    const worker = after.findIndex((c, i) => c === before[i] + 1);
    if (worker < 0) throw new Error(`connection ${tries}: no worker's curr_connections rose by one: [${before.join(', ')}] -> [${after.join(', ')}]`);
    before = after;
    return { conn, worker };
  };
  const byWorker: Array<Array<Pinned<C>>> = Array.from({ length: WORKERS }, () => []);
  const full = (w: number): boolean => byWorker[w].length >= perWorker;
  // a text connection on a worker that has its share, kept busy while the next one is placed:
  // with one listening socket shared by the workers, whichever worker wakes first accepts,
  // and an idle worker wins against busy ones
  const busy = new Map<number, TextPipe>();
  const limit = WORKERS * perWorker * TRIES_PER_CONNECTION;
  while (tries < limit && byWorker.some((w) => w.length < perWorker)) {
    const stalled = tries >= 2 * WORKERS * perWorker;
    if (stalled && [...Array(WORKERS).keys()].some((w) => full(w) && !busy.has(w))) {
      const h = await place(() => TextPipe.connect(server), helpers);
      if (full(h.worker) && !busy.has(h.worker)) busy.set(h.worker, h.conn);
      continue;
    }
    const load = [...busy.values()].map((b) => b.batch('mn\r\n'.repeat(BUSY_REQUESTS), BUSY_REQUESTS));
    const c = await place(open, opened);
    await Promise.all(load);
    if (!full(c.worker)) byWorker[c.worker].push({ conn: c.conn, worker: c.worker });
  }
  const short = byWorker.map((w, i) => (w.length < perWorker ? i : -1)).filter((i) => i >= 0);
  if (short.length > 0) {
    throw new Error(
      `after ${tries} connections, worker(s) ${short.join(', ')} had fewer than ${perWorker}; ` +
        `curr_connections per worker (control included): [${before.join(', ')}]`,
    );
  }
  // interleaved, so the first k connections are on k different workers
  const out: Array<Pinned<C>> = [];
  for (let j = 0; j < perWorker; j++) for (const w of byWorker) out.push(w[j]);
  return out;
}

/** `stats` counters as numbers (missing ones as NaN, so a comparison fails loudly). */
export async function counters(control: TextPipe, names: readonly string[]): Promise<Record<string, number>> {
  const st = await control.stats();
  return Object.fromEntries(names.map((n) => [n, Number(st.get(n) ?? NaN)]));
}

/** Poll `stats` until `ok(stats)` holds; fails with `what` and the last values of `show`. */
export async function untilStats(control: TextPipe, what: string, ok: (st: Map<string, string>) => boolean, show: readonly string[], limitMs = 30_000): Promise<Map<string, string>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const st = await control.stats();
    if (ok(st)) return st;
    if (Date.now() > deadline) {
      throw new Error(`waited ${limitMs} ms for ${what}; last: ${show.map((n) => `${n}=${st.get(n)}`).join(' ')}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
