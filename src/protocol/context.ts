/**
 * What a protocol front end may see of the world: the engine, settings, the
 * process-wide counters (ServerContext, defined in server-context.ts so that stats/
 * can share it without depending on protocol/), and its own connection as an
 * abstract ProtoConn. Protocols never touch sockets; server/ implements these
 * interfaces.
 */
import type { ConnInfo } from '../server-context.js';
import type { Output } from './output.js';

export { ServerCounters, type ConnInfo, type ServerContext } from '../server-context.js';

/**
 * memcached's READ_BUFFER_SIZE: a request's line (text, unless a multiget) or its
 * header, extras and key (binary) must fit in it, or memcached closes the connection.
 */
export const READ_BUFFER_SIZE = 16 * 1024;

/** The connection as a protocol sees it: id, transport and addresses, plus its output. */
export interface ProtoConn extends ConnInfo {
  /** replies for the current read go here */
  readonly out: Output;
  /** Flushes pending output, then closes (quit, fatal protocol errors). */
  closeAfterWrite(): void;
  /**
   * Stop parsing when true: closeAfterWrite() was called, or a stream() reply is
   * still running (the requests after it wait for its end).
   */
  readonly closing: boolean;
  /** SASL/ascii auth state, set by the auth code */
  authenticated: boolean;
  /**
   * Optional (stream sockets): the rest of this reply comes from `p`, pulled a
   * slice at a time when the socket has room, after what conn.out holds now. Until
   * p ends, `closing` reads true and nothing more is read or parsed (memcached hands
   * the socket to its crawler thread for metadump); then parsing resumes with the
   * requests that came after. Without it, the caller sends the reply at once.
   */
  stream?(p: Producer): void;
  /**
   * Optional (stream sockets): `watch`. Sends what conn.out holds, then gives the
   * connection to the log stream for `flags` events (log-stream/log-hub.ts LOG_*),
   * which sends `OK\r\n` and the lines; returns WATCHER_OK (then `closing` reads
   * true and nothing more is parsed), WATCHER_TOO_MANY or WATCHER_FAILED.
   */
  watch?(flags: number): number;
  /**
   * Optional (stream sockets, worker threads): the reply to this request comes
   * from another thread. It is sent when it arrives, after what conn.out holds
   * now; meanwhile `closing` reads true and nothing more is parsed, so replies keep
   * their order.
   */
  defer?(reply: Promise<Buffer>): void;
}

/**
 * A reply made a slice at a time by someone else (lru_crawler metadump): the
 * connection pulls when its socket has room, so it is never all in memory.
 */
export interface Producer {
  /** The next slice (the connection keeps it until written; may be empty), or null once done. */
  next(): Buffer | null;
  /** The connection went away before next() returned null: stop and let go of everything. */
  abort(): void;
  /**
   * Optional: true when there is nothing to pull yet; `wake` is then called once
   * there is (a reply coming from another thread).
   */
  wait?(wake: () => void): boolean;
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
