/**
 * `lru_crawler metadump`: one line per live item in memcached 1.6.18's format
 * (`key=... exp=... la=... cas=... fetch=... cls=... size=...\n`, then `END\r\n`),
 * made a slice at a time. Whoever sends it (the connection) pulls slices with
 * next() when it has room, so a dump of millions of items never holds the event
 * loop, and the whole reply is never in memory at once. memcached hands the socket
 * to its crawler thread instead; this module knows no sockets, only bytes.
 *
 * Order, as memcached's crawler walks: one item per LRU list
 * per round, oldest first, lists in sid order (HOT of every class, then WARM, then
 * COLD); a list walked to its head leaves the round.
 *
 * Between slices the engine runs: items are unlinked, freed and reused, and move
 * to the head of other lists (or of their own). The walk keeps its place the
 * crawler's way (crawler.ts: a handle checked with stillIn() before going on, else
 * that list starts again from its tail), with what "each item once" adds:
 * - a bitmap of visited chunks, so a restart from the tail, or an item moved to
 *   the head of a list not walked yet, is not dumped twice;
 * - the place kept is the last item visited (not the next one), stamped with its
 *   CAS and access time (and, with -C, the item behind it) and checked to still
 *   have visited items behind it, so a chunk freed and reused meanwhile is not
 *   taken for it, and an item moved onto a list already walked to its head is
 *   still found from there;
 * - when every list is walked, all are looked at once more, and again while that
 *   finds items (at most MAX_REOPEN times, so a dump under constant writes ends).
 * Nothing read from an item outlives the slice that read it.
 */
import type { Cache } from './engine.js';
import { NIL, PAGE_UNIT_MASK } from './memory.js';
import { ITEM_FETCHED, W_EXPTIME, W_NEXT, W_PREV, W_TIME } from './item-header.js';
import { SEGMENTS } from './lru.js';
import { POWER_SMALLEST } from './slabs.js';
import { ByteWriter } from './byte-writer.js';

/** A slice ends once it holds this many bytes of lines (memcached's crawler writes 64 KiB at a time). */
export const DUMP_SLICE_BYTES = 64 * 1024;
/** Items looked at per slice, dumped or not (expired ones make no line). */
const SLICE_ITEMS = 8192;
/** List links followed per slice while skipping items already visited. */
const SLICE_STEPS = 65536;
/** Extra passes over walked lists for items that moved onto them. */
const MAX_REOPEN = 16;
/** Longest line: a 250-byte key uriencoded, and the numbers. */
const LINE_MAX = 250 * 3 + 160;
/** advance(): no item this time, but the list is not walked (the slice ran out of steps). */
const OUT_OF_STEPS = -1;

/** What the dump needs of the crawler: its test for "h is still an item of list id". */
export interface ListWalker {
  stillIn(h: number, id: number): boolean;
}

export class MetadumpJob {
  /** lists still in the round, in sid order; the round resumes at `ri` in the next slice */
  private round: number[];
  private ri = 0;
  /** per list id: walked to its head this pass; the place (last visited) and its stamp */
  private readonly walked: Uint8Array;
  private readonly place: Uint32Array;
  private readonly placeCas: Float64Array;
  private readonly placeTime: Uint32Array;
  private readonly placeNext: Uint32Array;
  /** visited chunks, one bit per (handle >>> shift): chunks never start closer than that */
  private bits: Uint8Array | null;
  private readonly shift: number;
  private reopens = 0;
  private foundSinceReopen = 0;
  private steps = 0;
  private done = false;
  private readonly w = new ByteWriter(0);
  /** Items looked at per slice; tests make slices of one item to change the cache between them. */
  sliceItems = SLICE_ITEMS;

  /**
   * `lists`: the list ids (class * SEGMENTS + segment) to dump, in round order.
   * `onEnd` runs once, when the dump has produced END or was aborted.
   */
  constructor(
    private readonly cache: Cache,
    private readonly walker: ListWalker,
    private readonly lists: readonly number[],
    private readonly onEnd: () => void,
  ) {
    const n = (cache.slabs.largest + 1) * SEGMENTS;
    this.walked = new Uint8Array(n);
    this.place = new Uint32Array(n);
    this.placeCas = new Float64Array(n);
    this.placeTime = new Uint32Array(n);
    this.placeNext = new Uint32Array(n);
    this.round = lists.slice();
    // handles count 8-byte units: a chunk of at least 8 << shift bytes owns a bit of its own
    let shift = 0;
    while (8 << (shift + 1) <= cache.slabs.size[POWER_SMALLEST]) shift++;
    this.shift = shift;
    this.bits = new Uint8Array(this.bitBytes());
  }

  /** True once END was produced or the dump was aborted. */
  get finished(): boolean {
    return this.done;
  }

  /**
   * The next slice of the dump: a fresh Buffer (the caller may keep it until it is
   * written), possibly empty; the one ending in END\r\n is the last; null after it.
   */
  next(): Buffer | null {
    if (this.done) return null;
    const c = this.cache;
    const hdr = c.hdr;
    const now = c.clock.now;
    const started = c.clock.processStarted;
    const w = this.w;
    // a fresh buffer per slice: the previous one may still be queued for the socket
    w.restart(DUMP_SLICE_BYTES + LINE_MAX);
    this.steps = 0;
    let items = 0;
    while (w.len < DUMP_SLICE_BYTES && items < this.sliceItems && this.steps < SLICE_STEPS) {
      if (this.ri >= this.round.length) {
        // a round is over: lists walked to their head leave it
        const r = this.round;
        let n = 0;
        for (let i = 0; i < r.length; i++) if (this.walked[r[i]] === 0) r[n++] = r[i];
        r.length = n;
        this.ri = 0;
        if (n === 0 && !this.reopen()) {
          w.bytes(D_END);
          this.end();
          return take(w);
        }
        continue;
      }
      const id = this.round[this.ri++];
      const h = this.advance(id);
      if (h === OUT_OF_STEPS) {
        this.ri--; // this list's turn again in the next slice
        break;
      }
      if (h === NIL) {
        this.walked[id] = 1;
        continue;
      }
      items++;
      this.foundSinceReopen++;
      const exp = hdr.get(h, W_EXPTIME);
      if ((exp !== 0 && exp <= now) || c.isFlushed(h)) continue;
      w.bytes(D_KEY);
      uriencode(w, hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h));
      w.bytes(D_EXP);
      w.decimal(exp === 0 ? -1 : exp + started);
      w.bytes(D_LA);
      w.decimal(hdr.get(h, W_TIME) + started);
      w.bytes(D_CAS);
      w.decimal(hdr.cas(h));
      w.bytes(hdr.itFlags(h) & ITEM_FETCHED ? D_FETCH_YES : D_FETCH_NO);
      w.decimal(Math.floor(id / SEGMENTS));
      w.bytes(D_SIZE);
      w.decimal(c.itemSize(h));
      w.bytes(D_NL);
    }
    return take(w);
  }

  /** Stops the dump where it is (connection gone, daemon stopping): no END, nothing kept. */
  abort(): void {
    if (!this.done) this.end();
  }

  /** The rest of the dump at once, for a connection that cannot take it in slices (UDP, tests). */
  drain(): string {
    let s = '';
    for (let b = this.next(); b !== null; b = this.next()) s += b.toString('latin1');
    return s;
  }

  /**
   * The next item of list `id` not visited yet, made its place and marked visited;
   * NIL when the list has none now; OUT_OF_STEPS when the slice's budget ran out.
   */
  private advance(id: number): number {
    const c = this.cache;
    const hdr = c.hdr;
    let p = this.place[id];
    let h: number;
    if (p !== NIL && this.placeHolds(id, p)) {
      h = hdr.get(p, W_PREV);
    } else {
      // the place moved, went or was reused: from the tail again, past what was visited
      p = NIL;
      h = c.lru.tail[id];
    }
    while (h !== NIL && this.visited(h)) {
      p = h;
      h = hdr.get(h, W_PREV);
      if (++this.steps >= SLICE_STEPS) {
        this.setPlace(id, p); // everything from the tail to p is visited: a sound place
        return OUT_OF_STEPS;
      }
    }
    if (h === NIL) {
      if (p !== NIL) this.setPlace(id, p);
      return NIL;
    }
    this.steps++;
    this.mark(h);
    this.setPlace(id, h);
    return h;
  }

  /** Is p still the item we left list `id` at, with only visited items behind it? */
  private placeHolds(id: number, p: number): boolean {
    const hdr = this.cache.hdr;
    if (!this.walker.stillIn(p, id)) return false;
    if (hdr.cas(p) !== this.placeCas[id] || hdr.get(p, W_TIME) !== this.placeTime[id]) return false;
    const behind = hdr.get(p, W_NEXT);
    // with -C every CAS is 0: a new item in p's chunk, at the head of this same list,
    // is told apart by what is behind it (a neighbour unlinked meanwhile costs a restart)
    if (!hdr.useCas && behind !== this.placeNext[id]) return false;
    return behind === NIL || this.visited(behind);
  }

  private setPlace(id: number, h: number): void {
    this.place[id] = h;
    this.placeCas[id] = this.cache.hdr.cas(h);
    this.placeTime[id] = this.cache.hdr.get(h, W_TIME);
    this.placeNext[id] = this.cache.hdr.get(h, W_NEXT);
  }

  /** Every list was walked: look at all of them again if items may have moved onto them. */
  private reopen(): boolean {
    if (this.reopens >= MAX_REOPEN || (this.reopens > 0 && this.foundSinceReopen === 0)) return false;
    this.reopens++;
    this.foundSinceReopen = 0;
    this.walked.fill(0);
    const r = this.round;
    for (const id of this.lists) r.push(id);
    return true;
  }

  private bitBytes(): number {
    // pages are numbered from 1 up to what memory has handed out; more may come meanwhile
    // (not with >>>: past 4 GiB of cache the handle count passes 2^32)
    const handles = (this.cache.slabs.mem.reservedPages + 2) * (PAGE_UNIT_MASK + 1);
    return Math.floor(handles / (8 << this.shift)) + 1;
  }

  /**
   * The page mover moved an item from chunk `from` to chunk `to`, keeping its LRU
   * place: the mark and any place kept at it go along, so it is neither skipped (a
   * stale mark on `to`) nor dumped again (no mark on `to`).
   */
  relocated(from: number, to: number): void {
    if (this.done) return;
    if (this.visited(from)) this.mark(to);
    else this.unmark(to);
    const place = this.place;
    const next = this.placeNext;
    for (let id = 0; id < place.length; id++) {
      if (place[id] === from) place[id] = to;
      if (next[id] === from) next[id] = to;
    }
  }

  private visited(h: number): boolean {
    const i = h >>> this.shift;
    const bits = this.bits as Uint8Array;
    return (i >>> 3) < bits.length && (bits[i >>> 3] & (1 << (i & 7))) !== 0;
  }

  private unmark(h: number): void {
    const i = h >>> this.shift;
    const bits = this.bits as Uint8Array;
    if ((i >>> 3) < bits.length) bits[i >>> 3] &= ~(1 << (i & 7));
  }

  private mark(h: number): void {
    const i = h >>> this.shift;
    let bits = this.bits as Uint8Array;
    if ((i >>> 3) >= bits.length) {
      // a page added during the dump (memory grew): widen the map
      const grown = new Uint8Array(Math.max(this.bitBytes(), (i >>> 3) + 1));
      grown.set(bits);
      this.bits = bits = grown;
    }
    bits[i >>> 3] |= 1 << (i & 7);
  }

  private end(): void {
    this.done = true;
    this.bits = null;
    this.round.length = 0;
    this.onEnd();
  }
}

const HEX = '0123456789ABCDEF';
// the fixed pieces of a line, as bytes: Buffer.write() is slow for strings this short
const ascii = (t: string): Uint8Array => Uint8Array.from(t, (ch) => ch.charCodeAt(0));
const D_KEY = ascii('key=');
const D_EXP = ascii(' exp=');
const D_LA = ascii(' la=');
const D_CAS = ascii(' cas=');
const D_FETCH_YES = ascii(' fetch=yes cls=');
const D_FETCH_NO = ascii(' fetch=no cls=');
const D_SIZE = ascii(' size=');
const D_NL = ascii('\n');
const D_END = ascii('END\r\n');

/** True for the bytes uriencode() leaves as they are: [A-Za-z0-9-._~]. */
function uriPlain(ch: number): boolean {
  return (ch >= 0x30 && ch <= 0x39) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a)
    || ch === 0x2d || ch === 0x2e || ch === 0x5f || ch === 0x7e;
}

/** The slice written so far; the writer lets go of it. */
function take(w: ByteWriter): Buffer {
  const b = w.buf.subarray(0, w.len);
  w.restart(0);
  return b;
}

/** Key bytes, uriencoded as memcached's uriencode() does: all but [A-Za-z0-9-._~] as %XX. */
function uriencode(w: ByteWriter, src: Uint8Array, start: number, len: number): void {
  w.reserve(len * 3);
  const b = w.buf;
  let p = w.len;
  for (let i = start, end = start + len; i < end; i++) {
    const ch = src[i];
    if (uriPlain(ch)) {
      b[p++] = ch;
    } else {
      b[p++] = 0x25;
      b[p++] = HEX.charCodeAt(ch >>> 4);
      b[p++] = HEX.charCodeAt(ch & 15);
    }
  }
  w.len = p;
}
