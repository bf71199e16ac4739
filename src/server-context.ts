/**
 * What one daemon shares with everything that serves requests: the engine,
 * settings, the process-wide counters, and a read-only view of its connections.
 * server/ implements it; protocols (through protocol/context.ts, which re-exports
 * it) and stats/ read it. It lives above both so that stats, a leaf every layer may
 * use, does not depend on protocol/.
 */
import type { Cache } from './cache/engine.js';
import { LruCrawler } from './cache/crawler.js';
import { PageMover } from './cache/page-mover.js';
import type { Settings } from './config.js';
import type { LogHub } from './log-stream/log-hub.js';
import { newStatsState, type StatsState } from './stats/state.js';
import type { PrefixEntry } from './stats/detail.js';

/** A connection as `stats conns` and logs see it; protocols see more (ProtoConn). */
export interface ConnInfo {
  /** connection id (memcached's sfd-like number, for stats conns and logs) */
  readonly id: number;
  /** "tcp" | "udp" | "unix" | "tls" */
  readonly transport: string;
  /** peer address for `stats conns`, e.g. "127.0.0.1:53412" */
  readonly peer: string;
  /** our end of the connection for `stats conns` listen_addr, e.g. "127.0.0.1:11211" (optional) */
  readonly local?: string;
}

/** One line group of `stats conns`: a listener or a connection, on any thread. */
export interface ConnRow {
  id: number;
  transport: string;
  addr: string;
  listenAddr: string | null;
  state: string;
  secs: number;
}

/**
 * Worker threads only: what the main thread (which owns the background jobs) or
 * every thread together must answer. Replies come back later, so the caller defers
 * its reply (ProtoConn.defer).
 */
export interface RemoteCalls {
  /** `lru_crawler`, `slabs`, `lru` commands, run on the main thread: the reply */
  admin(words: string[]): Promise<string>;
  /** every thread's `stats conns` rows, listeners included */
  conns(): Promise<ConnRow[]>;
  /** every thread's `stats detail` prefix counters */
  detail(): Promise<PrefixEntry[]>;
  /** every thread's reply memory (`stats memory`), one entry per thread */
  memory(): Promise<Array<{ held: number; chunks: number; pooled: number }>>;
  /** `stats reset` ran here: the other threads clear their prefix counters too */
  reset(): void;
}

/**
 * The counters kept above the engine, under memcached's `stats` names, in the order
 * of their slots. Each thread that serves (the main thread at -t 1; each worker and
 * the main thread at -t N) owns one slot of SERVER_COUNTERS doubles, which only it
 * writes; `stats` sums the slots, as memcached sums its per-thread stats.
 */
export const SERVER_COUNTERS = [
  'curr_connections', 'total_connections', 'rejected_connections', 'connection_structures',
  'listen_disabled_num',
  /** 0 while -o no_maxconns_fast holds new connections back, else 1 */
  'accepting_conns',
  /** microseconds spent holding new connections back, over all episodes */
  'time_in_listen_disabled_us',
  'conn_yields', 'cmd_flush', 'cmd_touch', 'cmd_meta', 'auth_cmds', 'auth_errors',
  'bytes_read', 'bytes_written', 'response_obj_oom', 'read_buf_oom', 'idle_kicks',
  'store_too_large', 'store_no_memory', 'unexpected_napi_ids', 'round_robin_fallback',
  /** the log stream behind `watch` (log-stream/) */
  'log_worker_dropped', 'log_worker_written', 'log_watcher_skipped', 'log_watcher_sent', 'log_watchers',
  /** connections read through onread (fast-read.ts), not in `stats`: tests check the fast path is in use */
  'conns_onread',
  /** of those, the ones whose socket the listener made reading (fast-read.ts acceptDirect), not in `stats` */
  'conns_direct',
] as const;
export type ServerCounterName = typeof SERVER_COUNTERS[number];

/**
 * One thread's counters: a view of its slot. Fields read and write the slot through
 * accessors (defined below from SERVER_COUNTERS), which V8 inlines, so
 * `counters.bytes_read += n` costs what a field did. Without a slot (one thread,
 * unit fixtures) it owns a private one.
 */
export class ServerCounters {
  readonly slot: Float64Array;
  /** slot: a thread's part of the shared counters, set up by newCounterSlots() */
  constructor(slot?: Float64Array) {
    this.slot = slot ?? newCounterSlots(1)[0];
  }
}
export interface ServerCounters extends Record<ServerCounterName, number> {}
SERVER_COUNTERS.forEach((name, i) => {
  Object.defineProperty(ServerCounters.prototype, name, {
    get(this: ServerCounters): number {
      return this.slot[i];
    },
    set(this: ServerCounters, v: number): void {
      this.slot[i] = v;
    },
    enumerable: true,
  });
});

/**
 * n slots over one buffer (a SharedArrayBuffer when threads share it), each ready to
 * count: every counter 0, accepting_conns 1.
 */
export function newCounterSlots(n: number, buf?: SharedArrayBuffer): Float64Array[] {
  const k = SERVER_COUNTERS.length;
  const all = new Float64Array(buf ?? new ArrayBuffer(n * k * 8), 0, n * k);
  const slots: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = all.subarray(i * k, (i + 1) * k);
    s[SERVER_COUNTERS.indexOf('accepting_conns')] = 1;
    slots.push(s);
  }
  return slots;
}

/** Views of slots that already count (another thread's): nothing is reset. */
export function counterSlots(n: number, buf: SharedArrayBuffer): Float64Array[] {
  const k = SERVER_COUNTERS.length;
  const slots: Float64Array[] = [];
  for (let i = 0; i < n; i++) slots.push(new Float64Array(buf, i * k * 8, k));
  return slots;
}

/** Bytes of a buffer holding n threads' slots. */
export function counterBytes(n: number): number {
  return n * SERVER_COUNTERS.length * 8;
}

/** Shared by every connection of one daemon. */
export interface ServerContext {
  readonly cache: Cache;
  readonly settings: Settings;
  /** this thread's counters */
  readonly counters: ServerCounters;
  /**
   * With worker threads: every thread's counters, the workers' (0..N-1) first and the
   * main thread's last, which `stats` sums. Absent: `counters` are all there are.
   */
  readonly threadCounters?: readonly ServerCounters[];
  /** The engine lock's counts, for `stats threads` (absent: no lock, never contended). */
  lockCounts?(): { acquisitions: number; contended: number };
  /** the engine's background jobs and what `stats` keeps, each made once with the daemon */
  readonly crawler: LruCrawler;
  readonly mover: PageMover;
  readonly stats: StatsState;
  /** The log stream `watch` connections read (absent where nothing can watch, e.g. unit fixtures). */
  readonly logs?: LogHub;
  /** Unix seconds the daemon started */
  readonly startedAt: number;
  /** Worker threads only: calls other threads answer (see RemoteCalls). */
  readonly remote?: RemoteCalls;
  /**
   * Optional: settings changed at run time on this thread (verbosity, lru tune,
   * stats detail, ...), so the other threads take them too.
   */
  settingsChanged?(): void;
  /** verbosity can change at runtime (`verbosity` command) */
  setVerbosity(level: number): void;
  /** `shutdown` (only with -A): stop accepting, finish in-flight replies, exit */
  shutdown(graceful: boolean): void;
  /** For `stats conns`: every open connection */
  connections(): Iterable<ConnInfo & { state: string; secondsSinceLastCmd: number }>;
  /**
   * For `stats conns` (optional): listening sockets, which memcached lists too, e.g.
   * { id: 3, addr: "tcp:127.0.0.1:11211", secondsSinceLastCmd: 12 }; udp ones are
   * listed as memcached lists them (with a "UDP" line, state conn_read).
   */
  listeners?(): Iterable<{ id: number; addr: string; transport: string; secondsSinceLastCmd: number }>;
  /**
   * Optional, `refresh_certs` with -Z: reload the TLS certificate files for new
   * connections. Returns null on success, else the error to report.
   */
  refreshCerts?(): string | null;
  /** For `stats memory` (optional): reply memory held by connections and kept free for reuse. */
  outputMemory?(): { held: number; chunks: number; pooled: number };
}

/**
 * What a daemon keeps beside its engine, made once for its ServerContext: the LRU
 * crawler, the page mover (which tells the crawler what it moves) and the state
 * `stats` keeps between requests. Nothing is started here.
 */
export function daemonState(cache: Cache, settings: Settings): Pick<ServerContext, 'crawler' | 'mover' | 'stats'> {
  const crawler = new LruCrawler(cache, settings);
  return { crawler, mover: new PageMover(cache, settings, crawler), stats: newStatsState(settings, cache.hash) };
}
