/**
 * One client connection: bytes in from the socket, through the connection's
 * protocol (picked by the first byte), replies out in one write per read.
 *
 * Reading: TCP and unix connections read through `onread` into one buffer the
 * process shares (fast-read.ts); TLS, and a Node without what that needs, through
 * 'data' events. A read is parsed where it lies; only an unfinished request (the
 * tail) is kept, in a buffer this connection owns, which later reads are appended
 * to (compacted before it grows). Nothing is concatenated per read. The shared
 * read buffer is overwritten by the next read, so whatever must outlive a read
 * (the tail, and the requests left for later by -R, backpressure or a streamed
 * reply) is copied out before the read callback returns; replies never point
 * into it (Output copies keys and small values, and large ones come from the arena).
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
import { adopt } from './fast-read.js';
import type { CloseReason } from '../log-stream/log-lines.js';
import { WATCHER_FAILED, WATCHER_OK } from '../log-stream/log-hub.js';
import type { Watcher } from '../log-stream/watcher.js';
import type { EngineLock } from '../cache/engine-lock.js';

/** A tail buffer we own starts this big; one larger than SPARE_MAX is dropped when empty. */
const TAIL_MIN = 16 * 1024;
const SPARE_MAX = 64 * 1024;
/** what a used batch slot holds, so the batch keeps no buffer alive after its flush */
const EMPTY = Buffer.alloc(0);

export interface ConnectionHost {
  readonly ctx: ServerContext;
  /** The connection is gone: forget it. */
  removed(conn: Connection): void;
  /** the process log; used only when settings.verbose > 1 (-vv) */
  readonly log?: Logger;
}

export class Connection implements ProtoConn {
  readonly out: Output;
  readonly socket: net.Socket;
  /** reads come through onread into the shared read buffer (fast-read.ts) */
  readonly fastRead: boolean;
  closing = false;
  authenticated = false;
  /** true while this connection's requests are being handled (`stats conns` from itself) */
  private parsing = false;
  /** rel_time of the last read, for idle_timeout and `stats conns` */
  lastCmd: number;
  private proto: Protocol | null = null;
  /**
   * unparsed bytes: tail[tailStart, tailEnd); `owned` false while it is a socket
   * chunk ('data' events) or, during a read callback only, the shared read buffer
   */
  private tail: Buffer | null = null;
  private tailStart = 0;
  private tailEnd = 0;
  private owned = false;
  private spare: Buffer | null = null;
  private scheduled = false;
  /** backpressure: reading stopped until the socket drains */
  private paused = false;
  /** -R: reading stopped until the requests already read are handled */
  private held = false;
  private dead = false;
  /**
   * reused list of buffers for one flush: batch[0, batchLen). A count, not
   * `batch.length = 0`, which is a runtime call on every read.
   */
  private readonly batch: Buffer[] = [];
  private batchLen = 0;
  /** made once: a closure per flush would be garbage on every read */
  private readonly toBatch = (b: Buffer): void => {
    this.batch[this.batchLen++] = b;
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
  /** made once: the onread callback for every read of this connection */
  private readonly onRead = (n: number, buf: Buffer): void => {
    this.received(buf, n);
    // the next read overwrites buf: what is left of it moves to a buffer we own
    if (this.tail === buf) this.keep();
  };
  /**
   * The engine lock: held around everything that touches the cache (a read's
   * requests and their replies, unpinning written values, a streamed slice, the
   * release of what a closed connection held). Re-entrant, uncontended at -t 1.
   */
  private readonly lock: EngineLock;
  /** after `watch`: the socket belongs to the log stream, and what the client sends is dropped */
  private watcher: Watcher | null = null;
  /** why the connection ends, for watch's conn_close line (memcached's close_reason) */
  closeReason: CloseReason = 'normal';

  constructor(
    accepted: net.Socket,
    private readonly host: ConnectionHost,
    readonly id: number,
    readonly transport: string,
    readonly peer: string,
    readonly local?: string,
  ) {
    const ctx = host.ctx;
    this.lock = ctx.cache.lock;
    this.out = new Output(ctx.cache, ctx.settings.maxOutputBytes);
    this.lastCmd = ctx.cache.clock.now;
    // TLS keeps the stream path: its reads come decrypted from the TLS layer
    const fast = transport === 'tls' ? null : adopt(accepted, this.onRead);
    const socket = fast ?? accepted;
    this.socket = socket;
    this.fastRead = fast !== null;
    if (fast !== null) ctx.counters.conns_onread++;
    socket.setNoDelay(true);
    if (fast === null) socket.on('data', (chunk: Buffer) => this.received(chunk, chunk.length));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {
      this.closeReason = 'error'; // 'close' follows and cleans up
    });
    socket.on('close', () => this.onClose());
    if (this.tracing) host.log!.debug(`<${id} new auto-negotiating client connection`);
    // listeners pause on connect (so the handle can change hands before any read)
    if (fast === null) socket.resume();
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
    // a reply from another thread: memcached would still be running the command
    if (this.producer instanceof DeferredReply && !this.dead) return 'conn_parse_cmd';
    if (this.producer !== null && !this.dead) return 'conn_watch'; // memcached's state while its crawler has the socket
    if (this.dead || this.closing) return 'conn_closing';
    if (this.parsing) return 'conn_parse_cmd';
    if (this.paused) return 'conn_mwrite';
    return this.proto?.connState ?? 'conn_new_cmd';
  }

  get secondsSinceLastCmd(): number {
    return this.host.ctx.cache.clock.now - this.lastCmd;
  }

  /** Bytes read and not yet handled (the kept tail). */
  get unhandledBytes(): number {
    return this.tail === null ? 0 : this.tailEnd - this.tailStart;
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

  /** chunk[0, n) was read. */
  private received(chunk: Buffer, n: number): void {
    const ctx = this.host.ctx;
    ctx.counters.bytes_read += n;
    this.lastCmd = ctx.cache.clock.now;
    // a streamed reply keeps what arrives meanwhile for after its end
    if ((this.closing && this.producer === null) || this.dead) return;
    if (this.tail === null) {
      this.tail = chunk;
      this.owned = false;
      this.tailStart = 0;
      this.tailEnd = n;
    } else {
      this.append(chunk, n);
    }
    if (!this.scheduled) this.drive();
    else this.hold(true); // its turn is coming: read no more until then
  }

  /** Moves the tail out of the shared read buffer into one this connection owns. */
  private keep(): void {
    const t = this.tail as Buffer;
    const len = this.tailEnd - this.tailStart;
    let own = this.spare;
    if (own !== null && own.length >= len) {
      this.spare = null;
    } else {
      let size = TAIL_MIN;
      while (size < len) size *= 2;
      own = Buffer.allocUnsafe(size);
    }
    t.copy(own, 0, this.tailStart, this.tailEnd);
    this.tail = own;
    this.owned = true;
    this.tailStart = 0;
    this.tailEnd = len;
  }

  /** Adds chunk[0, n) after the kept tail, compacting before growing. */
  private append(chunk: Buffer, n: number): void {
    let t = this.tail as Buffer;
    const rest = this.tailEnd - this.tailStart;
    if (this.owned && t.length - this.tailEnd >= n) {
      chunk.copy(t, this.tailEnd, 0, n);
      this.tailEnd += n;
      return;
    }
    const need = rest + n;
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
    chunk.copy(t, rest, 0, n);
    this.tailStart = 0;
    this.tailEnd = need;
  }

  /** Parses what is buffered, writes the replies, and decides what comes next. */
  private drive(): void {
    if (this.dead || this.closing || this.paused || this.tail === null) return;
    const lock = this.lock;
    lock.enter();
    try {
      this.driveLocked();
    } finally {
      lock.exit();
    }
  }

  private driveLocked(): void {
    const t = this.tail as Buffer;
    const s = this.tailStart;
    const proto = this.proto ?? (this.proto = detectProtocol(this.host.ctx, this, t[s]));
    const logs = this.host.ctx.logs;
    if (logs !== undefined && logs.watching) logs.cfd = this.id;
    this.parsing = true;
    let n: number;
    try {
      n = proto.process(t, s, this.tailEnd);
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
    if (this.tracing) traceBytes(this.host.log!, '<', this.id, t, s, s + n);
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
    // -R: read nothing more until the batch is done, as memcached reads only when its
    // buffer holds no whole request: a client pipelining faster than we parse would
    // otherwise grow the tail without bound
    this.hold(again);
    if (again && !this.scheduled) {
      // -R: let other connections have a turn before the rest of this batch
      this.scheduled = true;
      setImmediate(this.onTick);
    }
  }

  /** Stops or restarts reading while requests already read wait for their -R turn. */
  private hold(on: boolean): void {
    if (on === this.held) return;
    this.held = on;
    if (on) this.socket.pause();
    else this.resumeReading();
  }

  /**
   * Reads again, unless something else still holds them: a batch waiting its -R turn
   * (held), backpressure (paused) or a streamed reply (producer). The one place that
   * resumes, so each holder lets go without knowing of the others.
   */
  private resumeReading(): void {
    if (!this.held && !this.paused && this.producer === null) this.socket.resume();
  }

  /** One write (or one corked burst) for everything in conn.out. */
  private flush(): void {
    const out = this.out;
    if (out.isEmpty()) return;
    const sock = this.socket;
    const batch = this.batch;
    const sent = out.flush(this.toBatch);
    const n = this.batchLen;
    this.batchLen = 0;
    if (this.tracing) traceWrites(this.host.log!, this.id, batch.slice(0, n));
    const ctx = this.host.ctx;
    if (sock.destroyed) {
      batch.fill(EMPTY, 0, n);
      if (sent) out.release(sent);
      return;
    }
    const many = n > 1;
    if (many) sock.cork();
    const last = n - 1;
    for (let i = 0; i < last; i++) {
      ctx.counters.bytes_written += batch[i].length;
      sock.write(batch[i]);
      batch[i] = EMPTY; // the socket holds what it still needs
    }
    ctx.counters.bytes_written += batch[last].length;
    if (sent) {
      this.inFlight.add(sent);
      sock.write(batch[last], () => this.written(sent));
    } else {
      sock.write(batch[last]);
    }
    batch[last] = EMPTY;
    if (many) sock.uncork();
    const pending = sock.writableLength;
    // everything went to the kernel: the chunk is free until the next reply
    if (pending === 0) this.idleOut();
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

  /**
   * The reply to the request just handled comes from another thread (`stats conns`,
   * a background job the main thread owns): it goes out when it arrives, after what
   * conn.out holds now, and the requests after it wait for it, so replies keep
   * their order.
   */
  defer(reply: Promise<Buffer>): void {
    this.stream(new DeferredReply(reply));
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
    // a reply waiting on another thread: its arrival pulls again
    if (p.wait !== undefined && p.wait(this.onPull)) return;
    this.lock.enter();
    let b: Buffer | null;
    try {
      b = p.next();
    } finally {
      this.lock.exit();
    }
    if (b === null) {
      this.producer = null;
      this.closing = false;
      this.lastCmd = this.host.ctx.cache.clock.now; // idle_timeout counts from END, not from the request
      this.resumeReading();
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
    if (p === null) return;
    this.lock.enter();
    try {
      p.abort();
    } finally {
      this.lock.exit();
    }
  }

  /** A flush's last write is done: its pins and spent chunks go back. */
  private written(sent: Sent): void {
    if (!this.inFlight.delete(sent)) return;
    this.lock.enter();
    try {
      this.out.release(sent);
    } finally {
      this.lock.exit();
    }
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
    this.resumeReading();
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
    this.lock.enter();
    try {
      this.proto?.closed();
      // writes cut short by the close never reported done: their bytes are no longer read
      for (const sent of this.inFlight) this.out.release(sent);
      this.inFlight.clear();
      this.out.close();
    } finally {
      this.lock.exit();
    }
    this.host.removed(this);
  }
}

/** A reply that arrives later from another thread, as a one-slice Producer. */
class DeferredReply implements Producer {
  private value: Buffer | null = null;
  private done = false;
  private taken = false;
  private wake: (() => void) | null = null;

  constructor(reply: Promise<Buffer>) {
    reply.then((b) => this.arrived(b), (e: unknown) => {
      this.arrived(Buffer.from(`SERVER_ERROR ${(e as Error).message ?? String(e)}\r\n`, 'latin1'));
    });
  }

  private arrived(b: Buffer): void {
    this.value = b;
    this.done = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  wait(wake: () => void): boolean {
    if (this.done) return false;
    this.wake = wake;
    return true;
  }

  next(): Buffer | null {
    if (this.taken) return null;
    this.taken = true;
    return this.value;
  }

  abort(): void {
    this.wake = null;
  }
}
