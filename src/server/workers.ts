/**
 * The main thread's side of -t N: starts N worker threads (worker.ts), has the
 * first bind every stream listener and the others serve the same listening
 * sockets, answers what workers ask of the main thread (RemoteCalls, `shutdown`,
 * settings changed at run time), and stops them all, each draining its replies.
 *
 * The main thread never accepts on those listeners: it does not hold them at all.
 * A listening socket in a thread's event loop takes connections, so the first
 * worker binds and hands the others the fds (sharing one listening socket is how
 * every thread accepts on it, as memcached's threads do).
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import type { Settings } from '../config.js';
import type { Logger } from '../log.js';
import type { ConnRow } from '../server-context.js';
import type { PrefixEntry } from '../stats/detail.js';
import type { ListenSpec } from './bind.js';
import { FatalError } from './process.js';
import type { SharedEngine } from '../cache/engine.js';

/** A worker's young generation: two semi-spaces of 1 MiB (V8 sizes it as 3 semi-spaces). */
const WORKER_YOUNG_GENERATION_MB = 3;

/** What every worker gets at start (structured-clonable). */
export interface WorkerData {
  settings: Settings;
  shared: SharedEngine;
  /** the control block (front.ts CTL_*) */
  ctl: Int32Array;
  /** every thread's counter slots (server-context.ts), workers first, main last */
  counters: SharedArrayBuffer;
  /** this worker's number, 0..N-1 (its counter slot) */
  index: number;
  /** the worker that binds the listeners (the others wait for their fds) */
  binder: boolean;
  /** names the BroadcastChannel on which threads say a -c slot freed */
  channel: string;
  /** the process log's level (-v), for -vv traces in the worker */
  verbose: number;
  /** serve nothing until the main thread says `open` (it drops privileges first) */
  hold: boolean;
  /** this worker's ports to every other thread's log hub (log-fanout.ts), by thread */
  peers: Array<MessagePort | undefined>;
}

/** Messages between a worker and the main thread. */
export type ToMain =
  | { type: 'bound'; specs: ListenSpec[] }
  | { type: 'failed'; message: string; exitCode: number }
  | { type: 'ready' }
  | { type: 'closed' }
  | { type: 'shutdown'; graceful: boolean }
  | { type: 'settings'; patch: Partial<Settings> }
  | { type: 'refresh_certs' }
  | { type: 'call'; id: number; op: 'admin' | 'conns' | 'detail' | 'memory'; words?: string[] }
  | { type: 'rows'; id: number; rows: unknown[] }
  | { type: 'reset' };

export type ToWorker =
  | { type: 'listen'; specs: ListenSpec[] }
  | { type: 'open' }
  | { type: 'close'; drainMs: number }
  | { type: 'settings'; patch: Partial<Settings> }
  | { type: 'refresh_certs' }
  | { type: 'answer'; id: number; value: unknown }
  | { type: 'rows?'; id: number; what: 'conns' | 'detail' | 'memory' }
  | { type: 'reset' };

/** Run-time settings a command may change on one thread, which every thread then takes. */
export const MUTABLE_SETTINGS = [
  'verbose', 'maxbytes', 'lruCrawler', 'lruCrawlerTocrawl', 'lruCrawlerSleep', 'slabAutomove',
  'slabAutomoveRatio', 'hotLruPct', 'warmLruPct', 'hotMaxFactor', 'warmMaxFactor', 'lruSegmented',
  'tempLru', 'temporaryTtl', 'detailEnabled',
] as const satisfies ReadonlyArray<keyof Settings>;

/** The values of MUTABLE_SETTINGS that differ from `before` (all of them without it). */
export function settingsPatch(s: Settings, before?: Partial<Settings>): Partial<Settings> {
  const patch: Record<string, unknown> = {};
  for (const k of MUTABLE_SETTINGS) if (before === undefined || before[k] !== s[k]) patch[k] = s[k];
  return patch as Partial<Settings>;
}

export interface MainSide {
  /** `shutdown` on a worker */
  shutdown(graceful: boolean): void;
  /** a worker changed settings (already applied to the main thread's) */
  settingsChanged(patch: Partial<Settings>): void;
  /** `lru_crawler`, `slabs`, `lru` from a worker: run here, the reply */
  admin(words: string[]): string;
  /** the main thread's own `stats conns` rows (listeners, UDP) */
  connRows(): ConnRow[];
  /** the main thread's own `stats detail` counters (UDP) */
  detailRows(): PrefixEntry[];
  /** `stats reset` on a worker: clear this thread's prefix counters */
  reset(): void;
  refreshCerts(): void;
}

export interface PoolOptions {
  settings: Settings;
  shared: SharedEngine;
  ctl: Int32Array;
  counters: SharedArrayBuffer;
  log?: Logger;
  /** names the BroadcastChannels the threads share */
  channel: string;
  /** peerPorts() over the workers and, last, the main thread */
  peers: MessagePort[][];
  /** workers serve nothing until open() */
  hold: boolean;
  main: MainSide;
}

export class WorkerPool {
  readonly workers: Worker[] = [];
  /** the listeners the first worker bound, in -l order */
  specs: ListenSpec[] = [];
  private nextCall = 0;
  private readonly gathering = new Map<number, { rows: unknown[]; left: number; done: (rows: unknown[]) => void }>();
  private closing = false;

  private constructor(private readonly o: PoolOptions) {}

  /**
   * Starts the workers (all at once: each is a V8 isolate, which takes a while to
   * start), has the first bind, the others listen on what it bound; resolves once
   * all serve. A bind failure rejects with the binder's message and exit code.
   */
  static async start(o: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(o);
    const n = o.settings.numThreads;
    const channel = o.channel;
    const ready: Promise<void>[] = [];
    let bound!: (specs: ListenSpec[]) => void;
    let failed!: (e: Error) => void;
    const bindDone = new Promise<ListenSpec[]>((res, rej) => {
      bound = res;
      failed = rej;
    });
    // -s: a worker cannot set the umask, so it is set here around the bind
    // (memcached's way: the socket file never exists with looser permissions)
    const oldMask = o.settings.socketpath !== null && o.settings.inheritedFds.length === 0
      ? process.umask(~o.settings.accessMask & 0o777) : null;
    for (let i = 0; i < n; i++) {
      const data: WorkerData = {
        settings: o.settings, shared: o.shared, ctl: o.ctl, counters: o.counters, index: i,
        binder: i === 0, channel, verbose: o.settings.verbose, peers: o.peers[i], hold: o.hold,
      };
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        // A worker's young generation otherwise starts at 4 MiB semi-spaces, sized from the
        // host's memory; 3 MiB of young generation is two 1 MiB semi-spaces, as the main
        // thread has (bin/slabcache.js): about 1.6 MB less RSS per idle worker, and the
        // request path leaves almost nothing to survive a scavenge
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
        workerData: data, transferList: o.peers[i].filter((p): p is MessagePort => p !== undefined),
      });
      pool.workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        w.on('message', (m: ToMain) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'bound') bound(m.specs);
          else if (m.type === 'failed') {
            const e = new FatalError(m.message, m.exitCode);
            failed(e);
            reject(e);
          } else pool.onMessage(i, m);
        });
        w.once('error', (e) => {
          if (!pool.closing) {
            o.log?.error(`worker thread ${i}: ${e.stack ?? e.message}`);
            failed(e);
            reject(e);
          }
        });
        w.once('exit', (code) => {
          if (!pool.closing) {
            const e = new Error(`worker thread ${i} exited (${code})`);
            failed(e);
            reject(e);
          }
        });
      }));
    }
    // a failure rejects bindDone or Promise.all below: these must not also count as unhandled
    for (const r of ready) r.catch(() => {});
    bindDone.catch(() => {});
    try {
      pool.specs = await bindDone;
      if (oldMask !== null) process.umask(oldMask);
      for (let i = 1; i < n; i++) pool.post(i, { type: 'listen', specs: pool.specs });
      await Promise.all(ready);
    } catch (e) {
      if (oldMask !== null) process.umask(oldMask);
      await pool.terminate();
      throw e;
    }
    // a worker that dies while serving takes the daemon down, as a crashed memcached
    // thread would: half the connections silently gone is worse
    for (const [i, w] of pool.workers.entries()) {
      w.on('exit', (code) => {
        if (pool.closing) return;
        o.log?.error(`worker thread ${i} exited (${code}): stopping`);
        process.exit(70); // EX_SOFTWARE
      });
    }
    return pool;
  }

  private post(i: number, m: ToWorker): void {
    this.workers[i].postMessage(m);
  }

  /** Tells every worker but `except` (a worker that already has it). */
  broadcast(m: ToWorker, except = -1): void {
    for (let i = 0; i < this.workers.length; i++) if (i !== except) this.post(i, m);
  }

  private onMessage(from: number, m: ToMain): void {
    const main = this.o.main;
    switch (m.type) {
      case 'shutdown':
        main.shutdown(m.graceful);
        return;
      case 'settings':
        Object.assign(this.o.settings, m.patch);
        main.settingsChanged(m.patch);
        this.broadcast({ type: 'settings', patch: m.patch }, from);
        return;
      case 'refresh_certs':
        main.refreshCerts();
        this.broadcast({ type: 'refresh_certs' }, from);
        return;
      case 'call':
        if (m.op === 'admin') {
          const before = settingsPatch(this.o.settings);
          const value = main.admin(m.words ?? []);
          const patch = settingsPatch(this.o.settings, before);
          if (Object.keys(patch).length > 0) this.broadcast({ type: 'settings', patch });
          this.post(from, { type: 'answer', id: m.id, value });
        } else {
          void this.allRows(m.op).then((value) => this.post(from, { type: 'answer', id: m.id, value }));
        }
        return;
      case 'reset':
        main.reset();
        this.broadcast({ type: 'reset' }, from);
        return;
      case 'rows': {
        const g = this.gathering.get(m.id);
        if (g === undefined) return;
        g.rows.push(...m.rows);
        if (--g.left === 0) {
          this.gathering.delete(m.id);
          g.done(g.rows);
        }
        return;
      }
      default:
    }
  }

  /** Every thread's `stats conns` rows or `stats detail` counters: the main thread's and each worker's. */
  private allRows(what: 'conns' | 'detail' | 'memory'): Promise<unknown[]> {
    const id = ++this.nextCall;
    const mine = what === 'conns' ? this.o.main.connRows() : what === 'detail' ? this.o.main.detailRows() : [];
    return new Promise((done) => {
      this.gathering.set(id, { rows: mine, left: this.workers.length, done });
      this.broadcast({ type: 'rows?', id, what });
    });
  }

  /**
   * Every worker stops taking connections and requests, lets each connection finish
   * the replies already made (cut after drainMs), and ends; resolves when all have.
   */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w, i) => new Promise<void>((resolve) => {
      const onMsg = (m: ToMain): void => {
        if (m.type !== 'closed') return;
        w.off('message', onMsg);
        resolve();
      };
      w.on('message', onMsg);
      w.once('exit', () => resolve());
      this.post(i, { type: 'close', drainMs });
    })));
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
