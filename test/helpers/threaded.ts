/**
 * A multi-threaded server under test and client connections spread over all its workers.
 *
 *   const s = await startThreaded(t, ['-m', '64']);          // our daemon at -t 4
 *   const conns = await s.pinned(t, 2);                       // 2 connections on every worker
 *
 * `pinned` opens connections one at a time and, after each, polls `stats threads` until the
 * new connection shows up in one worker's curr_connections: so every connection handed back
 * is known to be served by a given worker, and the load of a test reaches every worker.
 * If the kernel keeps giving connections to the same workers, it opens more (bounded) and
 * then fails saying how they were spread.
 *
 * THREADS_TEST_REFERENCE=memcached runs the same tests against /usr/bin/memcached -t 4, to
 * show that they pass on a server known to be right. memcached has no `stats threads`, so
 * only in that run the connections are opened without knowing their worker. The suite never
 * sets it.
 */
import type { ExecutionContext } from 'ava';
import { startMemcached, startSlabcache, type TestServer } from './memcached.js';
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
      tt.teardown(async () => {
        await Promise.all(opened.map(async (c) => closer(c)));
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
      const out = await spread(control, perWorker, opener, opened);
      tt.log(`${opened.length} connections opened to have ${perWorker} on each of ${WORKERS} workers`);
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

async function spread<C>(control: TextPipe, perWorker: number, open: () => Promise<C>, opened: C[]): Promise<Array<Pinned<C>>> {
  // only the control connection is open: every later rise is one of ours
  let before = await countsWhenTotal(control, 1, 'before opening client connections (only the control connection open)');
  const base = opened.length;
  const byWorker: Array<Array<Pinned<C>>> = Array.from({ length: WORKERS }, () => []);
  const limit = WORKERS * perWorker * TRIES_PER_CONNECTION;
  for (let n = 1; n <= limit && byWorker.some((w) => w.length < perWorker); n++) {
    const conn = await open();
    opened.push(conn);
    const after = await countsWhenTotal(control, 1 + opened.length - base, `after opening client connection ${n}`);
    const rose = after.findIndex((c, i) => c === before[i] + 1);
    if (rose < 0) throw new Error(`connection ${n}: no worker's curr_connections rose by one: [${before.join(', ')}] -> [${after.join(', ')}]`);
    if (byWorker[rose].length < perWorker) byWorker[rose].push({ conn, worker: rose });
    before = after;
  }
  const short = byWorker.map((w, i) => (w.length < perWorker ? i : -1)).filter((i) => i >= 0);
  if (short.length > 0) {
    throw new Error(
      `after ${opened.length - base} connections, worker(s) ${short.join(', ')} had fewer than ${perWorker}; ` +
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
