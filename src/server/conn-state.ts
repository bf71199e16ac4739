/**
 * A connection's flags and the state only a busy connection has, packed: a
 * thousand idle clients are a thousand of these, so an idle one should cost few
 * words. The flags are bits of one integer; what only matters while replies are in
 * flight, a reply streams or a watcher listens (and the closures made for those)
 * lives in a side object made at first use and dropped once the connection is idle
 * again (settle()). Accessors keep the plain field names the connection's other
 * files use; the optimizing compiler inlines them.
 */
import type { Producer } from '../protocol/context.js';
import type { Sent } from '../protocol/output.js';
import type { CloseReason } from '../log-stream/log-lines.js';
import type { Watcher } from '../log-stream/watcher.js';

const CLOSING = 1;
const AUTHENTICATED = 2;
const PARSING = 4;
const OWNED = 8;
const SCHEDULED = 16;
const PAUSED = 32;
const HELD = 64;
const DEAD = 128;
const FAST_READ = 256;
/** the transport's index in TRANSPORTS, from this bit up */
const TRANSPORT_SHIFT = 9;
const TRANSPORTS: readonly string[] = ['tcp', 'unix', 'tls'];

/** What a connection holds only while busy: every field at its idle value means it can go. */
class Busy {
  inFlight: Set<Sent> | null = null;
  directPending = 0;
  onTick: (() => void) | null = null;
  producer: Producer | null = null;
  pulling: NodeJS.Immediate | null = null;
  onPull: (() => void) | null = null;
  watcher: Watcher | null = null;
  closeReason: CloseReason = 'normal';
}

export class ConnState {
  private bits: number;
  private busy: Busy | null = null;
  private last = 0;

  constructor(transport: string, fastRead: boolean) {
    const t = TRANSPORTS.indexOf(transport);
    if (t < 0) throw new Error(`no connection over ${transport}`);
    this.bits = (t << TRANSPORT_SHIFT) | (fastRead ? FAST_READ : 0);
  }

  private flag(bit: number, on: boolean): void {
    this.bits = on ? this.bits | bit : this.bits & ~bit;
  }

  private more(): Busy {
    return this.busy ?? (this.busy = new Busy());
  }

  /**
   * Drops the busy state once nothing in it is live: no write in flight, no
   * streamed reply, no watcher. Its cached closures go with it; the next busy
   * spell makes them again (once per spell, not per turn).
   */
  protected settle(): void {
    const b = this.busy;
    if (b !== null && (b.inFlight === null || b.inFlight.size === 0) && b.directPending === 0 &&
      b.producer === null && b.pulling === null && b.watcher === null && b.closeReason === 'normal') {
      this.busy = null;
    }
  }

  /**
   * rel_time of the last read, for idle_timeout and `stats conns`. Kept a small
   * integer: the clock reads a Float64Array, and a double stored here would box
   * every connection's copy in a heap number of its own.
   */
  get lastCmd(): number { return this.last; }
  set lastCmd(t: number) { this.last = t | 0; }

  /** tcp, unix or tls: the listener the client came through */
  get transport(): string {
    return TRANSPORTS[this.bits >>> TRANSPORT_SHIFT];
  }

  /** reads come through onread into the shared read buffer (fast-read.ts) */
  get fastRead(): boolean {
    return (this.bits & FAST_READ) !== 0;
  }

  get closing(): boolean { return (this.bits & CLOSING) !== 0; }
  set closing(on: boolean) { this.flag(CLOSING, on); }

  get authenticated(): boolean { return (this.bits & AUTHENTICATED) !== 0; }
  set authenticated(on: boolean) { this.flag(AUTHENTICATED, on); }

  /** true while this connection's requests are being handled (`stats conns` from itself) */
  get parsing(): boolean { return (this.bits & PARSING) !== 0; }
  set parsing(on: boolean) { this.flag(PARSING, on); }

  /**
   * the tail is a buffer this connection owns; false while it is a socket chunk
   * ('data' events) or, during a read callback only, the shared read buffer
   */
  get owned(): boolean { return (this.bits & OWNED) !== 0; }
  set owned(on: boolean) { this.flag(OWNED, on); }

  get scheduled(): boolean { return (this.bits & SCHEDULED) !== 0; }
  set scheduled(on: boolean) { this.flag(SCHEDULED, on); }

  /** backpressure: reading stopped until the socket drains */
  get paused(): boolean { return (this.bits & PAUSED) !== 0; }
  set paused(on: boolean) { this.flag(PAUSED, on); }

  /** -R: reading stopped until the requests already read are handled */
  get held(): boolean { return (this.bits & HELD) !== 0; }
  set held(on: boolean) { this.flag(HELD, on); }

  get dead(): boolean { return (this.bits & DEAD) !== 0; }
  set dead(on: boolean) { this.flag(DEAD, on); }

  /** what flushes handed to writes that have not completed (pins, spent chunks) */
  get inFlight(): Set<Sent> | null { return this.busy === null ? null : this.busy.inFlight; }
  set inFlight(s: Set<Sent> | null) { if (s !== null || this.busy !== null) this.more().inFlight = s; }

  /** direct writes libuv has not finished */
  get directPending(): number { return this.busy === null ? 0 : this.busy.directPending; }
  set directPending(n: number) { if (n !== 0 || this.busy !== null) this.more().directPending = n; }

  /** the drive loop's next turn, made at its first use in a busy spell */
  get onTick(): (() => void) | null { return this.busy === null ? null : this.busy.onTick; }
  set onTick(f: (() => void) | null) { if (f !== null || this.busy !== null) this.more().onTick = f; }

  /** a streamed reply still running (closing reads true meanwhile), and its next pull */
  get producer(): Producer | null { return this.busy === null ? null : this.busy.producer; }
  set producer(p: Producer | null) { if (p !== null || this.busy !== null) this.more().producer = p; }

  get pulling(): NodeJS.Immediate | null { return this.busy === null ? null : this.busy.pulling; }
  set pulling(i: NodeJS.Immediate | null) { if (i !== null || this.busy !== null) this.more().pulling = i; }

  get onPull(): (() => void) | null { return this.busy === null ? null : this.busy.onPull; }
  set onPull(f: (() => void) | null) { if (f !== null || this.busy !== null) this.more().onPull = f; }

  /** after `watch`: the socket belongs to the log stream, and what the client sends is dropped */
  get watcher(): Watcher | null { return this.busy === null ? null : this.busy.watcher; }
  set watcher(w: Watcher | null) { if (w !== null || this.busy !== null) this.more().watcher = w; }

  /** why the connection ends, for watch's conn_close line (memcached's close_reason) */
  get closeReason(): CloseReason { return this.busy === null ? 'normal' : this.busy.closeReason; }
  set closeReason(r: CloseReason) { if (r !== 'normal' || this.busy !== null) this.more().closeReason = r; }
}
