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

/** Counters kept above the engine, under memcached's `stats` names. */
export class ServerCounters {
  curr_connections = 0;
  total_connections = 0;
  rejected_connections = 0;
  connection_structures = 0;
  listen_disabled_num = 0;
  /** 0 while -o no_maxconns_fast holds new connections back, else 1 */
  accepting_conns = 1;
  /** microseconds spent holding new connections back, over all episodes */
  time_in_listen_disabled_us = 0;
  conn_yields = 0;
  cmd_flush = 0;
  cmd_touch = 0;
  cmd_meta = 0;
  auth_cmds = 0;
  auth_errors = 0;
  bytes_read = 0;
  bytes_written = 0;
  response_obj_oom = 0;
  read_buf_oom = 0;
  idle_kicks = 0;
  store_too_large = 0;
  store_no_memory = 0;
  unexpected_napi_ids = 0;
  round_robin_fallback = 0;
  /** the log stream behind `watch` (log-stream/) */
  log_worker_dropped = 0;
  log_worker_written = 0;
  log_watcher_skipped = 0;
  log_watcher_sent = 0;
  log_watchers = 0;
}

/** Shared by every connection of one daemon. */
export interface ServerContext {
  readonly cache: Cache;
  readonly settings: Settings;
  readonly counters: ServerCounters;
  /** the engine's background jobs and what `stats` keeps, each made once with the daemon */
  readonly crawler: LruCrawler;
  readonly mover: PageMover;
  readonly stats: StatsState;
  /** The log stream `watch` connections read (absent where nothing can watch, e.g. unit fixtures). */
  readonly logs?: LogHub;
  /** Unix seconds the daemon started */
  readonly startedAt: number;
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
