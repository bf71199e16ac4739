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
import { Output, type Sent } from '../protocol/output.js';
import { detectProtocol } from '../protocol/detect.js';
import type { Logger } from '../log.js';
import { traceBytes, traceWrites } from './trace.js';

/** A tail buffer we own starts this big; one larger than SPARE_MAX is dropped when empty. */
const TAIL_MIN = 16 * 1024;
const SPARE_MAX = 64 * 1024;
/**
 * Unparsed bytes we keep while a connection waits for its next -R turn. Past this
 * we stop reading from it until the parser catches up, as memcached reads only
 * once its buffer has no whole request left: a client pipelining faster than we
 * answer must not grow its tail without bound.
 */
const BACKLOG_MAX = 64 * 1024;

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
  /** reading stopped because BACKLOG_MAX unparsed bytes wait for their turn */
  private held = false;
  private dead = false;
  /** reused list of buffers for one flush */
  private readonly batch: Buffer[] = [];
  /** made once: a closure per flush would be garbage on every read */
  private readonly toBatch = (b: Buffer): void => {
    this.batch.push(b);
  };
  /** what flushes handed to writes that have not completed (pins, spent chunks) */
  private readonly inFlight = new Set<Sent>();
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

  constructor(
    readonly socket: net.Socket,
    private readonly host: ConnectionHost,
    readonly id: number,
    readonly transport: string,
    readonly peer: string,
    readonly local?: string,
  ) {
    const ctx = host.ctx;
    this.out = new Output(ctx.cache, ctx.settings.maxOutputBytes);
    this.lastCmd = ctx.cache.clock.now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {}); // 'close' follows and cleans up
    socket.on('close', () => this.onClose());
    if (this.tracing) host.log!.debug(`<${id} new auto-negotiating client connection`);
  }

  /** -vv: commands and replies go to the log (a cold check per read, not per request) */
  private get tracing(): boolean {
    return this.host.log !== undefined && this.host.ctx.settings.verbose > 1;
  }

  /** memcached's conn state name, for `stats conns` */
  get state(): string {
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
    else if (this.tailEnd - this.tailStart > BACKLOG_MAX) this.hold(true);
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
    this.hold(again && left > BACKLOG_MAX);
    if (again && !this.scheduled) {
      // -R: let other connections have a turn before the rest of this batch
      this.scheduled = true;
      setImmediate(this.onTick);
    }
  }

  /** Stops or restarts reading for the backlog (see BACKLOG_MAX). */
  private hold(on: boolean): void {
    if (on === this.held) return;
    this.held = on;
    if (on) this.socket.pause();
    else if (!this.paused && this.producer === null) this.socket.resume();
  }

  /** One write (or one corked burst) for everything in conn.out. */
  private flush(): void {
    const out = this.out;
    if (out.isEmpty()) return;
    const sock = this.socket;
    const batch = this.batch;
    const sent = out.flush(this.toBatch);
    if (this.tracing) traceWrites(this.host.log!, this.id, batch);
    const ctx = this.host.ctx;
    if (sock.destroyed) {
      batch.length = 0;
      if (sent) out.release(sent);
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
    if (sent) {
      this.inFlight.add(sent);
      sock.write(batch[last], () => this.written(sent));
    } else {
      sock.write(batch[last]);
    }
    if (many) sock.uncork();
    batch.length = 0;
    const pending = sock.writableLength;
    // everything went to the kernel: the chunk is free until the next reply
    if (pending === 0 && this.inFlight.size === 0) out.idle();
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
      if (!this.held) sock.resume();
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

  /** A flush's last write is done: its pins and spent chunks go back. */
  private written(sent: Sent): void {
    if (!this.inFlight.delete(sent)) return;
    this.out.release(sent);
    this.idleOut();
  }

  /** Gives the output chunk back once nothing of ours waits in the socket. */
  private idleOut(): void {
    if (this.inFlight.size === 0 && !this.parsing && this.socket.writableLength === 0) this.out.idle();
  }

  private onDrain(): void {
    if (this.dead) return;
    this.idleOut();
    if (!this.paused) return;
    this.paused = false;
    if (this.producer !== null) {
      // reading stays paused until the streamed reply ends
      if (this.pulling === null) this.pulling = setImmediate(this.onPull);
      return;
    }
    if (!this.held) this.socket.resume();
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
    this.tail = null;
    this.spare = null;
    this.stopStream();
    this.proto?.closed();
    // writes cut short by the close never reported done: their bytes are no longer read
    for (const sent of this.inFlight) this.out.release(sent);
    this.inFlight.clear();
    this.out.close();
    this.host.removed(this);
  }
}
