/**
 * One client connection: bytes in from the socket, through the connection's
 * protocol (picked by the first byte), replies out in one write per read.
 *
 * Reading: a chunk is parsed where it lies; only an unfinished request (the
 * tail) is kept, in a buffer this connection owns, which later chunks are
 * appended to (compacted before it grows). Nothing is concatenated per read.
 *
 * Writing: everything one read produced goes out as one write, or one corked
 * burst when large values ride along as pinned arena views; the pins are released
 * when the socket reports the write done, so an overwrite or eviction meanwhile
 * cannot change bytes the kernel has not taken yet.
 *
 * Backpressure: once more than settings.maxOutputBytes (or the socket's 16 KiB
 * high-water mark, whichever is larger) wait in the socket, we stop reading (and
 * parsing) until it drains, so a client that never reads cannot make us buffer
 * without bound.
 *
 * Streamed replies (stream(): lru_crawler metadump) are pulled from their producer
 * one slice per turn of the event loop, only while less than maxOutputBytes wait
 * in the socket (else on 'drain'); meanwhile nothing is read or parsed, and the
 * requests that came after it are handled once it ends.
 */
import type net from 'node:net';
import type { Producer, ProtoConn, Protocol, ServerContext } from '../protocol/context.js';
import { Output } from '../protocol/output.js';
import { detectProtocol } from '../protocol/detect.js';
import type { Logger } from '../log.js';
import { traceBytes, traceWrites } from './trace.js';
import type { CloseReason } from '../log-stream/log-lines.js';
import { WATCHER_FAILED, WATCHER_OK } from '../log-stream/log-hub.js';
import type { Watcher } from '../log-stream/watcher.js';

/** A tail buffer we own starts this big; one larger than SPARE_MAX is dropped when empty. */
const TAIL_MIN = 16 * 1024;
const SPARE_MAX = 64 * 1024;

export interface ConnectionHost {
  readonly ctx: ServerContext;
  /** The connection is gone: forget it. */
  removed(conn: Connection): void;
  /** the process log; used only when settings.verbose > 1 (-vv) */
  readonly log?: Logger;
}

export class Connection implements ProtoConn {
  readonly out: Output;
  closing = false;
  authenticated = false;
  /** true while this connection's requests are being handled (`stats conns` from itself) */
  private parsing = false;
  /** rel_time of the last read, for idle_timeout and `stats conns` */
  lastCmd: number;
  private proto: Protocol | null = null;
  /** unparsed bytes: tail[tailStart, tailEnd); `owned` false while it is a socket chunk */
  private tail: Buffer | null = null;
  private tailStart = 0;
  private tailEnd = 0;
  private owned = false;
  private spare: Buffer | null = null;
  private scheduled = false;
  private paused = false;
  private dead = false;
  /** reused list of buffers for one flush */
  private readonly batch: Buffer[] = [];
  /** made once: a closure per flush would be garbage on every read */
  private readonly toBatch = (b: Buffer): void => {
    this.batch.push(b);
  };
  /** pin lists handed to writes that have not completed */
  private readonly inFlight = new Set<number[]>();
  private readonly onTick = (): void => {
    this.scheduled = false;
    this.drive();
  };
  /** a streamed reply still running (closing reads true meanwhile), and its next pull */
  private producer: Producer | null = null;
  private pulling: NodeJS.Immediate | null = null;
  private readonly onPull = (): void => {
    this.pulling = null;
    this.pull();
  };
  /** after `watch`: the socket belongs to the log stream, and what the client sends is dropped */
  private watcher: Watcher | null = null;
  /** why the connection ends, for watch's conn_close line (memcached's close_reason) */
  closeReason: CloseReason = 'normal';

  constructor(
    readonly socket: net.Socket,
    private readonly host: ConnectionHost,
    readonly id: number,
    readonly transport: string,
    readonly peer: string,
    readonly local?: string,
  ) {
    const ctx = host.ctx;
    this.out = new Output(ctx.cache);
    this.lastCmd = ctx.cache.clock.now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {
      this.closeReason = 'error'; // 'close' follows and cleans up
    });
    socket.on('close', () => this.onClose());
    if (this.tracing) host.log!.debug(`<${id} new auto-negotiating client connection`);
    const logs = ctx.logs;
    if (logs !== undefined && logs.watching) this.logConn(null);
  }

  /** watch's conn_new / conn_close line: memcached names unix sockets "local", with rip "unix". */
  private logConn(reason: CloseReason | null): void {
    const local = this.transport === 'unix';
    this.host.ctx.logs!.conn(local ? 'unix' : (this.socket.remoteAddress ?? ''), local ? 0 : (this.socket.remotePort ?? 0),
      local ? 'local' : 'tcp', this.id, reason);
  }

  /**
   * `watch`: hands the socket to the log stream. What conn.out holds goes first;
   * from here on nothing is parsed, and what the client sends is read and dropped
   * (memcached's logger reads a watcher only to notice that it closed).
   */
  watch(flags: number): number {
    const logs = this.host.ctx.logs;
    if (logs === undefined || this.dead) return WATCHER_FAILED;
    this.flush();
    const r = logs.add(this.socket, flags);
    if (r.status !== WATCHER_OK) return r.status;
    this.watcher = r.watcher;
    this.closing = true; // the protocol stops parsing after this request
    this.closeReason = 'error'; // memcached's logger thread closes a gone watcher as an error
    return WATCHER_OK;
  }

  /** -vv: commands and replies go to the log (a cold check per read, not per request) */
  private get tracing(): boolean {
    return this.host.log !== undefined && this.host.ctx.settings.verbose > 1;
  }

  /** memcached's conn state name, for `stats conns` */
  get state(): string {
    if (this.watcher !== null && !this.dead) return 'conn_watch';
    if (this.producer !== null && !this.dead) return 'conn_watch'; // memcached's state while its crawler has the socket
    if (this.dead || this.closing) return 'conn_closing';
    if (this.parsing) return 'conn_parse_cmd';
    if (this.paused) return 'conn_mwrite';
    return this.proto?.connState ?? 'conn_new_cmd';
  }

  get secondsSinceLastCmd(): number {
    return this.host.ctx.cache.clock.now - this.lastCmd;
  }

  /** True while the connection has replies the client has not taken. */
  get writing(): boolean {
    return this.paused || this.socket.writableLength > 0;
  }

  closeAfterWrite(): void {
    this.closing = true;
  }

  /** Drops the connection now (idle kick, daemon stop). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const ctx = this.host.ctx;
    ctx.counters.bytes_read += chunk.length;
    this.lastCmd = ctx.cache.clock.now;
    // a streamed reply keeps what arrives meanwhile for after its end
    if ((this.closing && this.producer === null) || this.dead) return;
    if (this.tail === null) {
      this.tail = chunk;
      this.owned = false;
      this.tailStart = 0;
      this.tailEnd = chunk.length;
    } else {
      this.append(chunk);
    }
    if (!this.scheduled) this.drive();
  }

  /** Adds a chunk after the kept tail, compacting before growing. */
  private append(chunk: Buffer): void {
    let t = this.tail as Buffer;
    const rest = this.tailEnd - this.tailStart;
    if (this.owned && t.length - this.tailEnd >= chunk.length) {
      chunk.copy(t, this.tailEnd);
      this.tailEnd += chunk.length;
      return;
    }
    const need = rest + chunk.length;
    if (this.owned && t.length >= need) {
      t.copyWithin(0, this.tailStart, this.tailEnd);
    } else {
      let size = this.owned ? t.length * 2 : TAIL_MIN;
      while (size < need) size *= 2;
      const grown = this.spare !== null && this.spare.length >= need ? this.spare : Buffer.allocUnsafe(size);
      if (grown === this.spare) this.spare = null;
      t.copy(grown, 0, this.tailStart, this.tailEnd);
      t = grown;
      this.tail = t;
      this.owned = true;
    }
    chunk.copy(t, rest);
    this.tailStart = 0;
    this.tailEnd = need;
  }

  /** Parses what is buffered, writes the replies, and decides what comes next. */
  private drive(): void {
    if (this.dead || this.closing || this.paused || this.tail === null) return;
    const t = this.tail;
    const s = this.tailStart;
    const len = this.tailEnd - s;
    const proto = this.proto ?? (this.proto = detectProtocol(this.host.ctx, this, t[s]));
    // protocols parse from 0: hand them a view when the tail starts further in
    const view = s === 0 && this.tailEnd === t.length ? t : t.subarray(s, this.tailEnd);
    const logs = this.host.ctx.logs;
    if (logs !== undefined && logs.watching) logs.cfd = this.id;
    this.parsing = true;
    let n: number;
    try {
      n = proto.process(view, 0, len);
    } catch (err) {
      // a bug, not bad input (protocols answer that with values): lose this
      // connection, never the process and everyone else's
      this.parsing = false;
      this.host.log?.error(`connection ${this.id}: ${(err as Error).stack ?? String(err)}`);
      this.out.discard();
      this.destroy();
      return;
    }
    this.parsing = false;
    if (this.tracing) traceBytes(this.host.log!, '<', this.id, view, 0, n);
    this.tailStart = s + n;
    this.flush();
    if (this.watcher !== null) {
      this.tail = null; // requests pipelined after `watch` are never run, as in memcached
      return;
    }
    // a stream() started: its end drives the requests left in the tail
    if (this.closing && this.producer === null) {
      this.finish();
      return;
    }
    const left = this.tailEnd - this.tailStart;
    if (left === 0) {
      if (this.owned && t.length <= SPARE_MAX) this.spare = t;
      this.tail = null;
    }
    const again = proto.yielded === true || (proto.yielded === undefined && n > 0 && left > 0);
    if (again && !this.scheduled) {
      // -R: let other connections have a turn before the rest of this batch
      this.scheduled = true;
      setImmediate(this.onTick);
    }
  }

  /** One write (or one corked burst) for everything in conn.out. */
  private flush(): void {
    const out = this.out;
    if (out.isEmpty()) return;
    const sock = this.socket;
    const batch = this.batch;
    const pins = out.flush(this.toBatch);
    if (this.tracing) traceWrites(this.host.log!, this.id, batch);
    const ctx = this.host.ctx;
    if (sock.destroyed) {
      batch.length = 0;
      if (pins) out.release(pins);
      return;
    }
    const many = batch.length > 1;
    if (many) sock.cork();
    const last = batch.length - 1;
    for (let i = 0; i < last; i++) {
      ctx.counters.bytes_written += batch[i].length;
      sock.write(batch[i]);
    }
    ctx.counters.bytes_written += batch[last].length;
    if (pins) {
      this.inFlight.add(pins);
      sock.write(batch[last], () => this.unpin(pins));
    } else {
      sock.write(batch[last]);
    }
    if (many) sock.uncork();
    batch.length = 0;
    const pending = sock.writableLength;
    // the socket still holds our buffer: the next batch needs a fresh one
    if (pending > 0) out.detach();
    // only once the socket wants a 'drain': under its high-water mark (16 KiB) it would
    // never send one, and a -o max_output_bytes below that would pause us for good
    if (pending > ctx.settings.maxOutputBytes && sock.writableNeedDrain && !this.paused) {
      this.paused = true;
      sock.pause();
    }
  }

  /** Sends the rest of this reply from p, a slice at a time (see ProtoConn.stream). */
  stream(p: Producer): void {
    if (this.dead) {
      p.abort();
      return;
    }
    this.producer = p;
    this.closing = true; // the protocol stops parsing after this request
    // like memcached's event_del: read nothing more until the end (bounds input too)
    this.socket.pause();
    if (this.pulling === null) this.pulling = setImmediate(this.onPull);
  }

  /** One slice per turn, so other connections are served between slices. */
  private pull(): void {
    const p = this.producer;
    if (p === null || this.dead || this.paused) return;
    const sock = this.socket;
    if (sock.destroyed || sock.writableEnded) {
      // the daemon is closing: no more slices
      this.stopStream();
      return;
    }
    const b = p.next();
    if (b === null) {
      this.producer = null;
      this.closing = false;
      this.lastCmd = this.host.ctx.cache.clock.now; // idle_timeout counts from END, not from the request
      sock.resume();
      if (!this.scheduled) this.drive(); // requests that came after the streamed one
      return;
    }
    if (b.length > 0) {
      if (this.tracing) traceWrites(this.host.log!, this.id, [b]);
      this.host.ctx.counters.bytes_written += b.length;
      sock.write(b);
    }
    // over the bound: wait for 'drain', which pulls again (see flush() for writableNeedDrain)
    if (sock.writableLength > this.host.ctx.settings.maxOutputBytes && sock.writableNeedDrain) this.paused = true;
    else this.pulling = setImmediate(this.onPull);
  }

  /** Ends a streamed reply before its end: the producer lets go of what it holds. */
  private stopStream(): void {
    if (this.pulling !== null) clearImmediate(this.pulling);
    this.pulling = null;
    const p = this.producer;
    this.producer = null;
    p?.abort();
  }

  private unpin(pins: number[]): void {
    if (!this.inFlight.delete(pins)) return;
    this.out.release(pins);
  }

  private onDrain(): void {
    if (!this.paused || this.dead) return;
    this.paused = false;
    if (this.producer !== null) {
      // reading stays paused until the streamed reply ends
      if (this.pulling === null) this.pulling = setImmediate(this.onPull);
      return;
    }
    this.socket.resume();
    if (!this.scheduled) this.drive();
  }

  /** quit and friends: send what is queued, then close. */
  private finish(): void {
    this.tail = null;
    const sock = this.socket;
    sock.end();
    sock.once('finish', () => sock.destroy());
  }

  private onClose(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.tracing) this.host.log!.debug(`<${this.id} connection closed.`);
    const logs = this.host.ctx.logs;
    if (logs !== undefined) {
      if (this.watcher !== null) logs.remove(this.watcher);
      if (logs.watching) this.logConn(this.closeReason);
    }
    this.tail = null;
    this.spare = null;
    this.stopStream();
    this.proto?.closed();
    this.out.discard();
    // writes cut short by the close never reported done: their bytes are no longer read
    for (const pins of this.inFlight) this.out.release(pins);
    this.inFlight.clear();
    this.host.removed(this);
  }
}
