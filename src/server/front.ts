/**
 * What one serving thread runs: its connections (one Connection per client), -c
 * across every thread, -o no_maxconns_fast's held clients, and idle_timeout. The
 * main thread runs one at -t 1, each worker thread one at -t N; the listeners that
 * feed accept() are bound elsewhere (bind.ts).
 *
 * -c counts across threads: the open connections are one Atomics counter in the
 * shared control block, taken at accept and given back at close, so N threads never
 * admit more than -c between them. Over it a client gets memcached's
 * `ERROR Too many open connections` and is closed; with -o no_maxconns_fast off it
 * is held, unread and unanswered, until a connection closes on any thread (memcached
 * stops accepting).
 */
import type net from 'node:net';
import type { Settings } from '../config.js';
import type { Logger } from '../log.js';
import type { ServerContext } from '../protocol/context.js';
import { Connection, type ConnectionHost } from './connection.js';

const TOO_MANY = Buffer.from('ERROR Too many open connections\r\n');
/** How often idle connections are looked for (memcached's conn_timeout thread wakes about this often). */
const IDLE_CHECK_MS = 1000;

/** Slots of the control block every thread shares (an Int32Array). */
export const CTL_CONNS = 0;
export const CTL_NEXT_ID = 1;
/** the last `watch` event number (log-fanout.ts) */
export const CTL_GID = 2;
/** `watch` connections on all threads (log-fanout.ts) */
export const CTL_WATCHERS = 3;
/** workers that reached shutdown's close barrier (worker.ts) */
export const CTL_CLOSING = 4;
/** from here, one word per thread: what its watchers ask for (log-fanout.ts) */
export const CTL_WATCH = 5;

/** A control block for one daemon with `threads` threads (shared when more than one). */
export function newControl(threads: number): Int32Array {
  const bytes = (CTL_WATCH + threads) * 4;
  return new Int32Array(threads > 1 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** The next connection id, unique over every thread (memcached's fd-like numbers). */
export function nextId(ctl: Int32Array): number {
  return Atomics.add(ctl, CTL_NEXT_ID, 1) + 1;
}

export interface FrontOptions {
  ctx: ServerContext;
  log?: Logger;
  /** the shared control block (newControl) */
  ctl: Int32Array;
  /** how many listeners the daemon has, for connection_structures */
  listeners(): number;
  /** A slot under -c freed on this thread: others holding clients may take it. */
  slotFreed?(): void;
}

export class Front {
  readonly conns = new Set<Connection>();
  private readonly settings: Settings;
  private readonly host: ConnectionHost;
  /**
   * -o no_maxconns_fast off: connections over -c, oldest first. memcached stops
   * accepting (listen backlog 0) until a connection closes, so a client over the
   * limit waits with no reply; Node cannot stop a listener accepting, so these are
   * accepted and left unread until a slot frees.
   */
  private readonly held: Array<{ transport: string; socket: net.Socket }> = [];
  private disabledSince = 0n;
  private idle: NodeJS.Timeout | null = null;
  /**
   * Until open(): connections are accepted (the kernel does so once the socket
   * listens) and kept paused, unserved, e.g. while the process still runs as root.
   */
  private waiting: Array<{ transport: string; socket: net.Socket }> | null = null;

  constructor(private readonly o: FrontOptions) {
    this.settings = o.ctx.settings;
    this.host = {
      ctx: o.ctx,
      log: o.log,
      removed: (conn: Connection): void => {
        if (this.conns.delete(conn)) {
          o.ctx.counters.curr_connections--;
          const was = Atomics.sub(o.ctl, CTL_CONNS, 1);
          if (was >= this.settings.maxconns) o.slotFreed?.();
        }
        if (this.held.length > 0) this.admitHeld();
      },
    };
    const logs = o.ctx.logs;
    if (logs !== undefined) logs.onConnEvents = () => { for (const c of this.conns) c.knowPeer(); };
    if (this.settings.idleTimeout > 0) {
      this.idle = setInterval(() => this.kickIdle(), IDLE_CHECK_MS);
      this.idle.unref();
    }
  }

  /** Keeps new connections unserved until open(). */
  hold(): void {
    if (this.waiting === null) this.waiting = [];
  }

  /** Serves the connections held since hold(), and every new one. */
  open(): void {
    const w = this.waiting;
    this.waiting = null;
    for (const c of w ?? []) if (!c.socket.destroyed) this.accept(c.transport, c.socket);
  }

  /** A slot may have freed on another thread: admit held clients while there is room. */
  admitHeld(): void {
    const c = this.o.ctx.counters;
    while (this.held.length > 0 && Atomics.load(this.o.ctl, CTL_CONNS) < this.settings.maxconns) {
      const next = this.held.shift()!;
      if (!next.socket.destroyed) this.accept(next.transport, next.socket);
    }
    if (this.held.length === 0 && c.accepting_conns === 0) this.accepting();
  }

  private accepting(): void {
    const c = this.o.ctx.counters;
    c.accepting_conns = 1;
    c.time_in_listen_disabled_us += Number((process.hrtime.bigint() - this.disabledSince) / 1000n);
  }

  /** A listener accepted `socket` (paused): serve it, hold it or turn it away under -c. */
  readonly accept = (transport: string, socket: net.Socket): void => {
    if (this.waiting !== null) {
      socket.on('error', () => {});
      this.waiting.push({ transport, socket });
      return;
    }
    const { ctx } = this.o;
    const counters = ctx.counters;
    const s = this.settings;
    if (Atomics.add(this.o.ctl, CTL_CONNS, 1) >= s.maxconns) {
      Atomics.sub(this.o.ctl, CTL_CONNS, 1);
      if (!s.maxconnsFast) {
        if (this.held.length === 0) {
          // one episode of "not accepting", as memcached counts listen_disabled_num
          counters.listen_disabled_num++;
          counters.accepting_conns = 0;
          this.disabledSince = process.hrtime.bigint();
        }
        const entry = { transport, socket };
        this.held.push(entry);
        socket.on('error', () => {});
        socket.once('close', () => {
          const i = this.held.indexOf(entry);
          if (i >= 0) this.held.splice(i, 1);
          if (this.held.length === 0 && counters.accepting_conns === 0) this.accepting();
        });
        return;
      }
      counters.rejected_connections++;
      socket.on('error', () => {});
      socket.resume(); // listeners pause on connect: read (and drop) until the client's FIN
      socket.end(TOO_MANY);
      return;
    }
    counters.curr_connections++;
    counters.total_connections++;
    counters.connection_structures = Math.max(counters.connection_structures,
      counters.curr_connections + this.o.listeners());
    this.conns.add(new Connection(socket, this.host, nextId(this.o.ctl), transport));
  };

  private kickIdle(): void {
    const now = this.o.ctx.cache.clock.now;
    for (const c of this.conns) {
      // memcached only kicks clients waiting for a command: not mid-value, not
      // while a long reply is still being taken
      if (c.state === 'conn_new_cmd' && !c.writing && now - c.lastCmd > this.settings.idleTimeout) {
        this.o.ctx.counters.idle_kicks++;
        c.closeReason = 'idle_timeout';
        c.destroy();
      }
    }
  }

  /**
   * Stops the idle check and lets every connection finish the replies already made;
   * nothing more is run: a request read from here would change the cache with no
   * one told, and -e saves it. Returns the sockets to drain.
   */
  stop(): net.Socket[] {
    if (this.idle !== null) clearInterval(this.idle);
    this.idle = null;
    for (const c of this.conns) c.closeAfterWrite();
    for (const h of this.held) h.socket.destroy();
    for (const h of this.waiting ?? []) h.socket.destroy();
    return [...this.conns].map((c) => c.socket);
  }
}
