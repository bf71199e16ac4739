/**
 * The log stream behind `watch`: memcached's logger.c. Events come from the
 * engine (through its ItemLog hook: lookups, stores, evictions), from the server
 * (connections opened and closed) and from the page mover; each is formatted at
 * once into a bounded staging buffer (memcached's per-worker log buffer,
 * worker_logbuf_size: an event that does not fit is dropped and counted), and on
 * the next turn of the event loop every staged line goes to every watcher that
 * asked for its kind (each watcher has its own bounded buffer, see watcher.ts).
 *
 * With no watcher, `watching` is false and nothing here runs: the engine's hook is
 * unset, and the server tests that one boolean per connection event.
 *
 * With worker threads every thread has a hub, and a watcher on one thread sees the
 * events of all (LogFanout): while anyone watches anywhere, every hub formats the
 * events someone asked for, and sends the lines its own watchers are not the only
 * ones to want to the other threads, whose hubs hand them to their watchers. Event
 * numbers (gid) are then drawn from one counter for all threads.
 */
import type { Cache } from '../cache/engine.js';
import type { ItemLog } from '../cache/item-log.js';
import type { ServerCounters } from '../server-context.js';
import { type CloseReason, LINE_MAX, LineWriter } from './log-lines.js';
import { Watcher, type WatchSocket } from './watcher.js';

/** What a watcher asks for (memcached's LOG_* eflags). */
export const LOG_RAWCMDS = 1;
export const LOG_EVICTIONS = 2;
export const LOG_FETCHERS = 4;
export const LOG_MUTATIONS = 8;
export const LOG_SYSEVENTS = 16;
export const LOG_CONNEVENTS = 32;
export const LOG_PROXYREQS = 64;
export const LOG_PROXYEVENTS = 128;
export const LOG_PROXYUSER = 256;

/** memcached's WATCHER_LIMIT */
export const WATCHER_LIMIT = 20;

/** logger_add_watcher()'s answers */
export const WATCHER_OK = 0;
export const WATCHER_TOO_MANY = 1;
export const WATCHER_FAILED = 2;

/** what comes through the engine's hook */
const ITEM_FLAGS = LOG_FETCHERS | LOG_MUTATIONS | LOG_EVICTIONS | LOG_SYSEVENTS;
/** a staged entry: flags (u16), line length (u16), gid (f64), then the line */
const ENTRY_HEAD = 12;
const OK = Buffer.from('OK\r\n');

/** How hubs on several threads reach each other (server/log-fanout.ts). */
export interface LogFanout {
  /** what watchers on the other threads ask for */
  remoteFlags(): number;
  /** this thread's watchers now ask for `flags` (others then call remoteChanged()) */
  publish(flags: number): void;
  /**
   * Staged entries (ENTRY_HEAD + line each), stage[0, end), for the other threads'
   * watchers that want some of `flags`.
   */
  send(stage: Uint8Array, end: number, flags: number): void;
  /** the next event number, over all threads */
  nextGid(): number;
  /** adds `delta` to the watchers of all threads (WATCHER_LIMIT is for all): the count before */
  countWatchers(delta: number): number;
}

export interface LogHubOptions {
  /** staging buffer bytes (-o worker_logbuf_size) */
  workerBufSize: number;
  /** each watcher's buffer bytes (-o watcher_logbuf_size) */
  watcherBufSize: number;
}

export class LogHub implements ItemLog {
  /** Someone watches: the one test event sources make before anything else. */
  watching = false;
  /** the union of what the watchers asked for */
  private flags = 0;
  /**
   * The connection whose requests are running (memcached's t->cur_sfd): the
   * server sets it before it hands a connection's bytes to its protocol.
   */
  cfd = 0;
  private gid = 0;
  private readonly watchers: Watcher[] = [];
  private readonly stage: Buffer;
  private staged = 0;
  private scheduled = false;
  private readonly w = new LineWriter();
  private readonly drainNow = (): void => this.drain();
  private fanout: LogFanout | null = null;
  /** what this thread's own watchers ask for */
  private localFlags = 0;
  /**
   * Called when connevents lines start on this thread: the connections already open
   * must learn what their conn_close lines will need while they still can.
   */
  onConnEvents: (() => void) | null = null;

  constructor(
    private readonly cache: Cache,
    private readonly counters: ServerCounters,
    private readonly opts: LogHubOptions,
  ) {
    this.stage = Buffer.allocUnsafe(Math.max(opts.workerBufSize, ENTRY_HEAD + LINE_MAX));
    this.w.buf = this.stage;
  }

  /**
   * Makes `sock` a watcher of `flags` events. OK is queued as its first bytes;
   * the caller gives the socket up (reads nothing more from it) and calls
   * remove() when it closes.
   */
  add(sock: WatchSocket, flags: number): { status: number; watcher: Watcher | null } {
    const fan = this.fanout;
    const before = fan === null ? this.watchers.length : fan.countWatchers(1);
    if (before >= WATCHER_LIMIT) {
      fan?.countWatchers(-1);
      return { status: WATCHER_TOO_MANY, watcher: null };
    }
    const w = new Watcher(sock, flags, this.nextGid(), this.opts.watcherBufSize, this.counters);
    w.greet(OK);
    this.watchers.push(w);
    this.counters.log_watchers = this.watchers.length;
    this.setFlags();
    w.roundDone();
    return { status: WATCHER_OK, watcher: w };
  }

  remove(w: Watcher): void {
    const i = this.watchers.indexOf(w);
    if (i < 0) return;
    w.closed = true;
    this.watchers.splice(i, 1);
    this.fanout?.countWatchers(-1);
    this.counters.log_watchers = this.watchers.length;
    this.setFlags();
  }

  /** Joins the hubs of the other threads. */
  connect(fanout: LogFanout): void {
    this.fanout = fanout;
    this.remoteChanged();
  }

  /** What the other threads' watchers ask for changed. */
  remoteChanged(): void {
    this.setFlags();
  }

  private nextGid(): number {
    return this.fanout === null ? ++this.gid : this.fanout.nextGid();
  }

  private setFlags(): void {
    let local = 0;
    for (const w of this.watchers) local |= w.flags;
    if (local !== this.localFlags) {
      this.localFlags = local;
      this.fanout?.publish(local);
    }
    const f = local | (this.fanout?.remoteFlags() ?? 0);
    const was = this.flags;
    this.flags = f;
    if ((f & LOG_CONNEVENTS) !== 0 && (was & LOG_CONNEVENTS) === 0) this.onConnEvents?.();
    this.watching = f !== 0;
    // the engine's hook is set only while someone wants item events
    this.cache.setItemLog((f & ITEM_FLAGS) !== 0 ? this : null);
  }

  /** Room for one more line in the staging buffer, else a drop: returns false. */
  private begin(flag: number): boolean {
    if ((this.flags & flag) === 0) return false;
    if (this.staged + ENTRY_HEAD + LINE_MAX > this.stage.length) {
      this.counters.log_worker_dropped++;
      return false;
    }
    this.w.pos = this.staged + ENTRY_HEAD;
    return true;
  }

  private commit(flag: number, gid: number): void {
    const at = this.staged;
    const st = this.stage;
    st.writeUInt16LE(flag, at);
    st.writeUInt16LE(this.w.pos - at - ENTRY_HEAD, at + 2);
    st.writeDoubleLE(gid, at + 4);
    this.staged = this.w.pos;
    this.counters.log_worker_written++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
  }

  // ------------------------------------------------------------ event sources

  itemGet(key: Uint8Array, ks: number, kl: number, wasFound: number, clsid: number, nbytes: number): void {
    if (!this.begin(LOG_FETCHERS)) return;
    const gid = this.nextGid();
    this.w.itemGet(gid, key, ks, kl, wasFound, clsid, this.cfd, nbytes);
    this.commit(LOG_FETCHERS, gid);
  }

  itemStore(key: Uint8Array, ks: number, kl: number, status: number, mode: number, nbytes: number,
    ttl: number, clsid: number): void {
    this.store(key, ks, kl, status, mode, nbytes, ttl, clsid, this.cfd);
  }

  /**
   * A store refused before it reached the engine (too large, no memory). memcached's
   * process_update_command logs it with one argument fewer than the line reads, so
   * its clsid shows the connection's fd; we print the same.
   */
  storeRefused(key: Uint8Array, ks: number, kl: number, status: number, mode: number): void {
    if (!this.watching) return;
    this.store(key, ks, kl, status, mode, 0, 0, this.cfd, this.cfd);
  }

  private store(key: Uint8Array, ks: number, kl: number, status: number, mode: number, nbytes: number,
    ttl: number, clsid: number, cfd: number): void {
    if (!this.begin(LOG_MUTATIONS)) return;
    const gid = this.nextGid();
    this.w.itemStore(gid, key, ks, kl, status, mode, ttl, clsid, cfd, nbytes);
    this.commit(LOG_MUTATIONS, gid);
  }

  eviction(key: Uint8Array, ks: number, kl: number, fetched: boolean, ttl: number, la: number,
    clsid: number, nbytes: number): void {
    if (!this.begin(LOG_EVICTIONS)) return;
    const gid = this.nextGid();
    this.w.eviction(gid, key, ks, kl, fetched, ttl, la, clsid, nbytes);
    this.commit(LOG_EVICTIONS, gid);
  }

  /** A connection opened (reason null) or closed. transport: local | tcp | udp. */
  conn(rip: string, rport: number, transport: string, cfd: number, reason: CloseReason | null): void {
    if (!this.begin(LOG_CONNEVENTS)) return;
    const gid = this.nextGid();
    this.w.conn(gid, rip, rport, transport, cfd, reason);
    this.commit(LOG_CONNEVENTS, gid);
  }

  slabMove(src: number, dst: number): void {
    if (!this.begin(LOG_SYSEVENTS)) return;
    const gid = this.nextGid();
    this.w.slabMove(gid, src, dst);
    this.commit(LOG_SYSEVENTS, gid);
  }

  // ------------------------------------------------------------ the logger's round

  /** Hands every staged line to the watchers that want it, then lets them write. */
  private drain(): void {
    this.scheduled = false;
    const st = this.stage;
    const end = this.staged;
    this.staged = 0;
    // other threads' watchers want some of these: they get a copy of the round
    const fan = this.fanout;
    if (fan !== null && end > 0 && fan.remoteFlags() !== 0) {
      let kinds = 0;
      for (let p = 0; p < end; p = p + ENTRY_HEAD + st.readUInt16LE(p + 2)) kinds |= st.readUInt16LE(p);
      fan.send(st, end, kinds);
    }
    this.offerAll(st, end);
  }

  /** Lines another thread staged: to this thread's watchers that want them. */
  receive(entries: Uint8Array, end: number): void {
    if (this.watchers.length === 0) return;
    const b = Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength);
    this.offerAll(b, end);
  }

  private offerAll(st: Buffer, end: number): void {
    const ws = this.watchers;
    for (let p = 0; p < end;) {
      const flag = st.readUInt16LE(p);
      const len = st.readUInt16LE(p + 2);
      const gid = st.readDoubleLE(p + 4);
      const s = p + ENTRY_HEAD;
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i];
        if ((w.flags & flag) !== 0 && gid >= w.minGid) w.offer(st, s, s + len);
      }
      p = s + len;
    }
    for (let i = 0; i < ws.length; i++) ws[i].roundDone();
  }
}
