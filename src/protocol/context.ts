/**
 * What a protocol front end may see of the world: the engine, settings, the
 * process-wide counters, and its own connection as an abstract ProtoConn. Protocols
 * never touch sockets; server/ implements these interfaces.
 */
import type { Cache } from '../cache/engine.js';
import type { Settings } from '../config.js';
import type { Output } from './output.js';

/** The connection as a protocol sees it. */
export interface ProtoConn {
  /** replies for the current read go here */
  readonly out: Output;
  /** connection id (memcached's sfd-like number, for stats conns and logs) */
  readonly id: number;
  /** "tcp" | "udp" | "unix" | "tls" */
  readonly transport: string;
  /** peer address for `stats conns`, e.g. "127.0.0.1:53412" */
  readonly peer: string;
  /** our end of the connection for `stats conns` listen_addr, e.g. "127.0.0.1:11211" (optional) */
  readonly local?: string;
  /** Flushes pending output, then closes (quit, fatal protocol errors). */
  closeAfterWrite(): void;
  /** True once closeAfterWrite() was called: stop parsing. */
  readonly closing: boolean;
  /** SASL/ascii auth state, set by the auth code */
  authenticated: boolean;
}

/** One protocol instance per connection. */
export interface Protocol {
  /**
   * Handles every complete request in buf[start, end), appending replies to
   * conn.out, and returns how many bytes it consumed; the caller keeps the rest
   * and calls again when more bytes arrive. Returns early (having consumed only
   * what it handled) after `-R` requests so other connections get a turn: the
   * caller then calls again on the next tick.
   */
  process(buf: Buffer, start: number, end: number): number;
  /** The connection closed: release anything held (half-read items, pins). */
  closed(): void;
  /**
   * Optional: true when the last process() stopped at the `-R` limit with whole
   * requests left, so the server calls again on the next tick without waiting for
   * bytes. A protocol without it gets another call whenever it consumed some but
   * not all bytes.
   */
  readonly yielded?: boolean;
  /**
   * Optional: memcached's conn state name while between reads when it is not
   * conn_new_cmd, e.g. conn_nread in the middle of a data block (`stats conns`).
   */
  readonly connState?: string;
}

/** Counters kept above the engine, under memcached's `stats` names. */
export class ServerCounters {
  curr_connections = 0;
  total_connections = 0;
  rejected_connections = 0;
  connection_structures = 0;
  listen_disabled_num = 0;
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
}

/** Shared by every connection of one daemon. */
export interface ServerContext {
  readonly cache: Cache;
  readonly settings: Settings;
  readonly counters: ServerCounters;
  /** Unix seconds the daemon started */
  readonly startedAt: number;
  /** verbosity can change at runtime (`verbosity` command) */
  setVerbosity(level: number): void;
  /** `shutdown` (only with -A): stop accepting, finish in-flight replies, exit */
  shutdown(graceful: boolean): void;
  /** For `stats conns`: every open connection */
  connections(): Iterable<ProtoConn & { state: string; secondsSinceLastCmd: number }>;
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
}
