/**
 * One client connection: bytes in from the socket, through the connection's
 * protocol (picked by the first byte), replies out in one write per read.
 *
 * This file holds the connection's state, its socket listeners and its life from
 * accept to close. Its jobs live beside it, as functions of the connection:
 * reading and the drive loop in conn-read.ts, writing replies, backpressure and
 * writes in flight in conn-write.ts, streamed and deferred replies in
 * conn-stream.ts. The fields they share are theirs and this file's alone.
 */
import type net from 'node:net';
import type { Producer, ProtoConn, Protocol, ServerContext } from '../protocol/context.js';
import { Output } from '../protocol/output.js';
import type { Logger } from '../log.js';
import { acceptDirect, adopt, startReading } from './fast-read.js';
import { socketName } from './listen-tcp.js';
import { directHandle, queued } from './fast-write.js';
import type { CloseReason } from '../log-stream/log-lines.js';
import { WATCHER_FAILED, WATCHER_OK } from '../log-stream/log-hub.js';
import type { EngineLock } from '../cache/engine-lock.js';
import { drive, keep, received, resumeReading } from './conn-read.js';
import { flush, idleOut } from './conn-write.js';
import { DeferredReply, puller, startStream, stopStream } from './conn-stream.js';
import { ConnState } from './conn-state.js';

/**
 * The connection a socket serves. The socket's listeners are shared by every
 * connection and find theirs here through `this` (an idle connection holding
 * five closures of its own cost 400 bytes).
 */
const CONN = Symbol('connection');
type Served = net.Socket & { [CONN]: Connection };

export interface ConnectionHost {
  readonly ctx: ServerContext;
  /** The connection is gone: forget it. */
  removed(conn: Connection): void;
  /** the process log; used only when settings.verbose > 1 (-vv) */
  readonly log?: Logger;
}

export class Connection extends ConnState implements ProtoConn {
  readonly out: Output;
  readonly socket: net.Socket;
  // from here: state shared with conn-read.ts, conn-write.ts and conn-stream.ts, no one else's
  // (and the flags and busy state of conn-state.ts)
  proto: Protocol | null = null;
  /** unparsed bytes: tail[tailStart, tailEnd) (`owned`: whether it is ours to keep) */
  tail: Buffer | null = null;
  tailStart = 0;
  tailEnd = 0;
  /** the handle replies are written to directly (fast-write.ts), or null: socket.write */
  direct: object | null = null;

  constructor(
    accepted: net.Socket,
    readonly host: ConnectionHost,
    readonly id: number,
    transport: string,
  ) {
    // TLS keeps the stream path: its reads come decrypted from the TLS layer
    const fast = transport === 'tls' ? null : adopt(accepted, Connection.on.read);
    super(transport, fast !== null);
    const ctx = host.ctx;
    this.out = new Output(ctx.cache, ctx.settings.maxOutputBytes);
    this.lastCmd = ctx.cache.clock.now;
    const socket = fast ?? accepted;
    this.socket = socket;
    (socket as Served)[CONN] = this;
    // only an adopted socket: its reads and writes are ours alone (TLS writes encrypt in Node)
    if (fast !== null) this.direct = directHandle(fast);
    if (fast !== null) ctx.counters.conns_onread++;
    if (fast === accepted) ctx.counters.conns_direct++;
    socket.setNoDelay(true);
    const on = Connection.on;
    if (fast === null) socket.on('data', on.data);
    socket.on('drain', on.drain);
    socket.on('error', on.error);
    socket.on('close', on.close);
    if (this.tracing) host.log!.debug(`<${id} new auto-negotiating client connection`);
    // listeners pause on connect (so the handle can change hands before any read),
    // and adopted sockets are made paused
    if (fast === null) socket.resume();
    else startReading(fast);
    const logs = ctx.logs;
    if (logs !== undefined && logs.watching) this.logConn(null);
  }

  /**
   * The engine lock: held around everything that touches the cache (a read's
   * requests and their replies, unpinning written values, a streamed slice, the
   * release of what a closed connection held). Re-entrant, uncontended at -t 1.
   * One per engine, so asked of it rather than kept by each connection.
   */
  get lock(): EngineLock {
    return this.host.ctx.cache.lock;
  }

  /** The socket's listeners, shared by every connection: `this` is the socket. */
  private static readonly on = {
    /** onread (fast-read.ts): buf[0, n) is the shared read buffer */
    read(this: Served, n: number, buf: Buffer): void {
      const c = this[CONN] as Connection | undefined;
      // a socket turned away under -c reads (and drops) until the client's FIN
      if (c === undefined) return;
      received(c, buf, n);
      // the next read overwrites buf: what is left of it moves to a buffer we own
      if (c.tail === buf) keep(c);
    },
    data(this: Served, chunk: Buffer): void {
      received(this[CONN], chunk, chunk.length);
    },
    drain(this: Served): void {
      this[CONN].onDrain();
    },
    error(this: Served): void {
      this[CONN].closeReason = 'error'; // 'close' follows and cleans up
    },
    close(this: Served): void {
      this[CONN].onClose();
    },
  };

  /**
   * Has a listening server (TCP or unix) build its sockets reading through onread
   * from accept on (fast-read.ts); false when it cannot, and connections are
   * adopted one by one.
   */
  static acceptDirect(server: net.Server): boolean {
    return acceptDirect(server, Connection.on.read);
  }

  /**
   * A `watch connevents` began: this connection's conn_close will need the peer's
   * address, and once the socket is closed its handle can no longer tell it (the
   * kernel answers ENOTCONN as soon as the close handshake is over, or at once on a
   * reset). Node keeps what it reads on the socket, where logConn finds it later.
   * Only while someone watches does a connection keep its address: an idle one
   * would otherwise carry it for its whole life only for this line.
   */
  knowPeer(): void {
    if (this.transport !== 'unix' && !this.dead) void this.socket.remoteAddress;
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
    flush(this);
    const r = logs.add(this.socket, flags);
    if (r.status !== WATCHER_OK) return r.status;
    this.watcher = r.watcher;
    this.closing = true; // the protocol stops parsing after this request
    this.closeReason = 'error'; // memcached's logger thread closes a gone watcher as an error
    return WATCHER_OK;
  }

  /** -vv: commands and replies go to the log (a cold check per read, not per request) */
  get tracing(): boolean {
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

  /**
   * The client's address for `stats conns` ("host:port"; a unix client, the socket's
   * path), asked of the socket when wanted: kept, it was three strings per idle
   * connection.
   */
  get peer(): string {
    return this.transport === 'unix' ? (this.host.ctx.settings.socketpath ?? '') : socketName(this.socket, false);
  }

  /** Our end of the connection, as peer; none for unix. */
  get local(): string | undefined {
    return this.transport === 'unix' ? undefined : socketName(this.socket, true);
  }

  get secondsSinceLastCmd(): number {
    return this.host.ctx.cache.clock.now - this.lastCmd;
  }

  /** Bytes read and not yet handled (the kept tail). */
  get unhandledBytes(): number {
    return this.tail === null ? 0 : this.tailEnd - this.tailStart;
  }

  /** Bytes of replies written and not yet taken by the kernel (the socket's, and libuv's queue). */
  get outgoing(): number {
    return this.socket.writableLength + (this.direct !== null && !this.socket.destroyed ? queued(this.direct) : 0);
  }

  /** True while the connection has replies the client has not taken. */
  get writing(): boolean {
    return this.paused || this.directPending > 0 || this.socket.writableLength > 0;
  }

  closeAfterWrite(): void {
    this.closing = true;
  }

  /** Drops the connection now (idle kick, daemon stop). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends the rest of this reply from p, a slice at a time (see ProtoConn.stream). */
  stream(p: Producer): void {
    startStream(this, p);
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

  /** The socket's writes (and direct writes) are all done: 'drain', and conn-write.ts. */
  onDrain(): void {
    if (this.dead) return;
    idleOut(this);
    this.settle();
    if (!this.paused) return;
    this.paused = false;
    if (this.producer !== null) {
      // reading stays paused until the streamed reply ends
      if (this.pulling === null) this.pulling = setImmediate(puller(this));
      return;
    }
    resumeReading(this);
    if (!this.scheduled) drive(this);
  }

  /** quit and friends: send what is queued, then close. */
  finish(): void {
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
    stopStream(this);
    this.lock.enter();
    try {
      this.proto?.closed();
      // writes cut short by the close never reported done: their bytes are no longer read
      if (this.inFlight !== null) {
        for (const sent of this.inFlight) this.out.release(sent);
        this.inFlight = null;
      }
      this.out.close();
    } finally {
      this.lock.exit();
    }
    this.host.removed(this);
  }
}
