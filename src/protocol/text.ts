/**
 * memcached's classic text protocol (doc/protocol.txt), byte for byte as 1.6.18
 * answers it, errors included. Meta commands go to meta.ts, `stats` and the
 * crawler/slab admin commands to text-stats.ts (and stats/), storage commands
 * to text-store.ts, retrievals to text-get.ts, touch/incr/decr/delete to
 * text-keys.ts.
 *
 * Requests are parsed straight from the connection's read buffer: find \n with
 * indexOf, split words into a reused Int32Array, compare words byte by byte, hand
 * keys to the engine as (buf, start, length). Replies are preallocated Buffers
 * or bytes appended to the connection's output batch.
 */
import {
  NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_PREPEND,
  NREAD_REPLACE, NREAD_SET, StoreMode,
} from '../cache/status.js';
import { MB } from '../config.js';
import { VERSION } from '../stats/general.js';
import { textAuth, textAuthRequired } from './auth.js';
import { READ_BUFFER_SIZE, type Protocol, type ProtoConn, type ServerContext } from './context.js';
import { MetaCommands } from './meta.js';
import { Words } from './text-parse.js';
import { TextStore } from './text-store.js';
import {
  flushAll, memlimit, shutdown, textReply, verbosity,
} from './text-admin.js';
import { textAdmin, textStats } from './text-stats.js';
import { watchCommand } from './text-watch.js';
import { textGet } from './text-get.js';
import { textArith, textDelete, textTouch } from './text-keys.js';
import { ERROR, OK as OK_R } from './wire.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/**
 * The memcached version whose text protocol we speak. Clients and test tools
 * (memccapable) pick behaviours by the number in `VERSION`, so it leads; ours follows.
 */
export const PROTOCOL_VERSION = '1.6.18';
const VERSION_R = b(`VERSION ${PROTOCOL_VERSION}-slabcache-${VERSION}\r\n`);

// command words
const W_GET = b('get'), W_GETS = b('gets'), W_GAT = b('gat'), W_GATS = b('gats'), W_BGET = b('bget');
const W_SET = b('set'), W_ADD = b('add'), W_APPEND = b('append'), W_CAS = b('cas');
const W_REPLACE = b('replace'), W_PREPEND = b('prepend');
const W_STATS = b('stats'), W_SHUTDOWN = b('shutdown'), W_SLABS = b('slabs');
const W_MEMLIMIT = b('cache_memlimit'), W_INCR = b('incr'), W_DECR = b('decr');
const W_DELETE = b('delete'), W_TOUCH = b('touch'), W_FLUSH = b('flush_all');
const W_VERSION = b('version'), W_QUIT = b('quit'), W_LRU_CRAWLER = b('lru_crawler');
const W_WATCH = b('watch'), W_VERBOSITY = b('verbosity'), W_LRU = b('lru');
const HTTP = b('HTTP/'), W_REFRESH_CERTS = b('refresh_certs');

/**
 * A line longer than this without its \n must be a large multiget (`get`/`gets`);
 * anything else closes the connection, as memcached's try_read_command_ascii does.
 */
const LINE_NO_NEWLINE_MAX = 2048;
/** memcached lets multiget lines grow without bound; we stop at this. */
const MULTIGET_LINE_MAX = 16 * MB;

/**
 * Buffer.prototype.indexOf, called as a constant: V8 compiled `buf.indexOf` in
 * process() as a generic property load (a builtin call of some 80 instructions per
 * line) where this is a direct call to the same function.
 */
const indexOf = Buffer.prototype.indexOf;

/** Scratch refilled for every line, shared by all connections (a line is handled whole). */
const sharedWords = new Words();

export class TextProtocol implements Protocol {
  private readonly w = sharedWords;
  /** made at the first storage command: a connection that only reads holds none */
  private store: TextStore | null = null;
  private meta: MetaCommands | null = null;
  private readonly authRequired: boolean;
  /** set_noreply_maybe() for the command being handled */
  private noreply = false;
  /** bytes of the unconsumed tail already searched for \n (they had none) */
  private scanned = 0;
  /** the last process() stopped at the -R limit with requests left */
  yielded = false;
  /** a multiget stopped with its batch full goes on this far into its line (0: none) */
  private getResume = 0;

  constructor(private readonly ctx: ServerContext, private readonly conn: ProtoConn) {
    this.authRequired = textAuthRequired(ctx);
  }

  process(buf: Buffer, start: number, end: number): number {
    const conn = this.conn;
    const maxReqs = this.ctx.settings.reqsPerEvent;
    let pos = start;
    let reqs = 0;
    this.yielded = false;
    while (pos < end && !conn.closing) {
      const store = this.store;
      if (store !== null && store.active) {
        pos = store.feed(buf, pos, end);
        continue;
      }
      if (this.meta !== null && this.meta.active) {
        pos = this.meta.feed(buf, pos, end); // an ms data block streamed or swallowed
        continue;
      }
      // -R, or as much output waiting as one client may have: other clients first
      if (reqs >= maxReqs || conn.out.full) {
        this.yielded = true;
        this.ctx.counters.conn_yields++;
        break;
      }
      // resume the \n search where the last call gave up: a multiget line arriving
      // in many reads is scanned once, not once per read
      let nl = indexOf.call(buf, 0x0a, pos + this.scanned);
      this.scanned = 0;
      if (nl >= end) nl = -1;
      if (nl < 0 || nl - pos >= READ_BUFFER_SIZE) {
        // memcached reads into a 16 KiB buffer: a longer line never has its \n there
        const whole = nl >= 0;
        if ((whole || end - pos > LINE_NO_NEWLINE_MAX) && !this.multigetMayGrow(buf, pos, whole ? nl : end)) {
          this.hangUp();
          break;
        }
        if (!whole) {
          this.scanned = end - pos;
          break;
        }
      }
      const next = nl + 1;
      if (this.authRequired && !conn.authenticated) {
        const r = textAuth(this.ctx, conn, buf, pos, nl, next, end);
        if (r < 0) break;
        pos = r;
        reqs++;
        continue;
      }
      // memcached strips a \r before the \n unless it is the line's only byte
      const eol = nl - pos > 1 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      conn.out.unit();
      const r = this.command(buf, pos, eol, next, end);
      if (r < 0) break; // meta data block not all here yet
      pos = r;
      reqs++;
    }
    return pos - start;
  }

  closed(): void {
    this.store?.closed();
    this.meta?.closed();
  }

  get connState(): string | undefined {
    return this.store?.connState;
  }

  private storage(): TextStore {
    return this.store ?? (this.store = new TextStore(this.ctx, this.conn));
  }

  /** A get line: false when it stopped with the batch full (getResume says where it goes on). */
  private get(buf: Buffer, lineStart: number, withCas: boolean, touch: boolean): boolean {
    this.getResume = textGet(this.ctx, this.conn.out, this.w, buf, lineStart, withCas, touch, this.getResume);
    return this.getResume === 0;
  }

  /** memcached: over 2048 bytes without \n is fine only as `get `/`gets ` (after <= 100 spaces). */
  private multigetMayGrow(buf: Buffer, pos: number, end: number): boolean {
    if (end - pos > MULTIGET_LINE_MAX) return false;
    let p = pos;
    while (p < end && buf[p] === 0x20) p++;
    if (p - pos > 100) return false;
    return buf[p] === 0x67 && buf[p + 1] === 0x65 && buf[p + 2] === 0x74
      && (buf[p + 3] === 0x20 || (buf[p + 3] === 0x73 && buf[p + 4] === 0x20));
  }

  /** conn_closing: memcached drops the connection without sending what is queued. */
  private kill(): void {
    this.conn.out.discard();
    this.conn.closeAfterWrite();
  }

  /**
   * A line memcached will not read (too long, or an HTTP request): it closes. What
   * it had written out by then goes: the replies up to the last get or mn before
   * the line in this read (see Output.commit).
   */
  private hangUp(): void {
    this.conn.out.dropUncommitted();
    this.conn.closeAfterWrite();
  }

  private reply(r: Buffer): void {
    if (this.noreply) {
      this.noreply = false;
      return;
    }
    this.conn.out.bytes(r);
  }

  /** One command line buf[s, eol); returns where parsing continues, or -1 to wait. */
  private command(buf: Buffer, s: number, eol: number, next: number, end: number): number {
    const w = this.w;
    const n = w.split(buf, s, eol);
    this.noreply = false;
    const out = this.conn.out;
    if (n === 0 || w.len(0) < 2) {
      out.bytes(ERROR);
      return next;
    }
    const c0 = buf[w.s[0]];
    const nt = n + 1; // memcached's ntokens
    let mode: StoreMode = 0;
    switch (c0) {
      case 0x6d: // m: meta commands are all two letters
        if (w.len(0) === 2) {
          if (this.meta === null) this.meta = new MetaCommands(this.ctx, this.conn, true, w);
          const r = this.meta.dispatch(s, eol, next, end);
          if (buf[s + 1] === 0x6e && r >= 0) out.commit(); // mn: memcached writes out here
          return r;
        }
        break;
      case 0x67: // g
        if (nt < 3) break;
        let whole: boolean;
        if (w.is(buf, 0, W_GET)) whole = this.get(buf, s, false, false);
        else if (w.is(buf, 0, W_GETS)) whole = this.get(buf, s, true, false);
        else if (w.is(buf, 0, W_GAT)) whole = this.get(buf, s, false, true);
        else if (w.is(buf, 0, W_GATS)) whole = this.get(buf, s, true, true);
        else break;
        if (!whole) return this.resumeLater(s, next);
        out.commit(); // memcached writes out after every get
        return next;
      case 0x73: // s
        if (w.is(buf, 0, W_SET)) {
          mode = NREAD_SET;
          break;
        }
        if (w.is(buf, 0, W_STATS)) this.stats(buf);
        else if (w.is(buf, 0, W_SHUTDOWN)) this.shutdown(buf);
        else if (w.is(buf, 0, W_SLABS)) this.admin(buf);
        else break;
        return next;
      case 0x61: // a
        if (w.is(buf, 0, W_ADD)) mode = NREAD_ADD;
        else if (w.is(buf, 0, W_APPEND)) mode = NREAD_APPEND;
        break;
      case 0x63: // c
        if (w.is(buf, 0, W_CAS)) {
          if (nt !== 7 && nt !== 8) break;
          return this.storage().command(buf, w, NREAD_CAS, next, end);
        }
        if (w.is(buf, 0, W_MEMLIMIT) && (nt === 3 || nt === 4)) {
          this.memlimit(buf);
          return next;
        }
        break;
      case 0x69: // i
        if (!w.is(buf, 0, W_INCR) || (nt !== 4 && nt !== 5)) break;
        this.arith(buf, true);
        return next;
      case 0x64: // d
        if (w.is(buf, 0, W_DELETE) && nt >= 3 && nt <= 5) this.delete(buf);
        else if (w.is(buf, 0, W_DECR) && (nt === 4 || nt === 5)) this.arith(buf, false);
        else break;
        return next;
      case 0x74: // t
        if (!w.is(buf, 0, W_TOUCH) || (nt !== 4 && nt !== 5)) break;
        this.touch(buf);
        return next;
      default:
        if (w.is(buf, 0, W_REPLACE)) mode = NREAD_REPLACE;
        else if (w.is(buf, 0, W_PREPEND)) mode = NREAD_PREPEND;
        else if (w.is(buf, 0, W_BGET)) {
          if (nt < 3) break;
          if (!this.get(buf, s, false, false)) return this.resumeLater(s, next);
          out.commit();
        } else if (w.is(buf, 0, W_FLUSH)) {
          if (nt > 4) break;
          this.flushAll(buf);
        } else if (w.is(buf, 0, W_VERSION)) out.bytes(VERSION_R);
        else if (w.is(buf, 0, W_QUIT)) this.conn.closeAfterWrite();
        else if (w.is(buf, 0, W_LRU_CRAWLER)) this.admin(buf);
        else if (w.is(buf, 0, W_WATCH)) this.watch(buf);
        else if (w.is(buf, 0, W_VERBOSITY)) {
          if (nt !== 3 && nt !== 4) break;
          this.verbosity(buf);
        } else if (w.is(buf, 0, W_REFRESH_CERTS)) {
          this.refreshCerts(buf);
        } else if (w.is(buf, 0, W_LRU)) {
          if (nt < 3) break;
          this.admin(buf);
        } else {
          // an HTTP request line: memcached hangs up without a word
          const li = w.n - 1;
          if (w.len(li) >= 5 && buf.compare(HTTP, 0, 5, w.s[li], w.s[li] + 5) === 0) this.hangUp();
          else out.bytes(ERROR);
          return next;
        }
        if (mode === 0) return next;
    }
    if (mode !== 0 && (nt === 6 || nt === 7)) return this.storage().command(buf, w, mode, next, end);
    out.bytes(ERROR);
    return next;
  }

  /**
   * A multiget stopped with its output batch full: the line stays unconsumed and
   * is taken up again, from the key after the last one answered, once the batch
   * is written (as -R does), so one long line cannot hold the loop or queue
   * without bound.
   */
  private resumeLater(lineStart: number, next: number): number {
    this.scanned = next - 1 - lineStart; // the \n is known: don't search the line again
    this.yielded = true;
    // a stop for another thread's lock wait is not one of memcached's yields
    if (this.conn.out.full) this.ctx.counters.conn_yields++;
    return -1;
  }

  private touch(buf: Buffer): void {
    this.noreply = this.w.noreply(buf);
    this.reply(textTouch(this.ctx, this.w, buf));
  }

  private arith(buf: Buffer, incr: boolean): void {
    this.noreply = this.w.noreply(buf);
    const r = textArith(this.ctx, this.conn.out, this.w, buf, incr, this.noreply);
    if (r === null) this.noreply = false;
    else this.reply(r);
  }

  private delete(buf: Buffer): void {
    if (this.w.n > 2) this.noreply = this.w.noreply(buf);
    this.reply(textDelete(this.ctx, this.w, buf, this.noreply));
  }

  private flushAll(buf: Buffer): void {
    this.noreply = this.w.noreply(buf);
    this.reply(flushAll(this.ctx, buf, this.w, this.noreply));
  }

  private verbosity(buf: Buffer): void {
    this.noreply = this.w.noreply(buf);
    this.reply(verbosity(this.ctx, buf, this.w));
    this.ctx.settingsChanged?.();
  }

  private memlimit(buf: Buffer): void {
    this.noreply = this.w.noreply(buf);
    this.reply(memlimit(this.ctx, buf, this.w));
    this.ctx.settingsChanged?.();
  }

  private shutdown(buf: Buffer): void {
    const r = shutdown(this.ctx, buf, this.w);
    if (r !== null) return this.reply(r);
    // memcached closes this connection at once and raises SIGINT / SIGUSR1
    this.kill();
    this.ctx.shutdown(this.w.n === 2);
  }

  /** memcached answers errors even with noreply here (they are not out_string replies). */
  private refreshCerts(buf: Buffer): void {
    this.noreply = this.w.noreply(buf);
    const err = this.ctx.settings.ssl ? (this.ctx.refreshCerts?.() ?? null) : 'Error TLS not enabled';
    if (err === null) return this.reply(OK_R);
    this.noreply = false;
    textReply(this.conn.out, err);
  }

  private stats(buf: Buffer): void {
    textStats(this.ctx, this.conn, buf, this.w);
  }

  /**
   * memcached's resp_has_stack(): replies queued that it would not have written out
   * yet (it writes out after every get and mn, where out.commit() is called).
   */
  private get queued(): boolean {
    return this.conn.out.uncommitted;
  }

  private watch(buf: Buffer): void {
    const r = watchCommand(this.ctx, this.conn, buf, this.w, this.queued);
    if (r !== null) this.conn.out.bytes(r);
  }

  /** lru_crawler, slabs, lru: text-stats.ts */
  private admin(buf: Buffer): void {
    textAdmin(this.ctx, this.conn, buf, this.w, this.queued);
  }
}
