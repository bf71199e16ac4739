/**
 * The page mover: `slabs reassign <src> <dst>` and `slab_automove`. Moves one page
 * from a slab class that does not need it to one that does (or to the global page
 * pool, class 0), so a workload whose item sizes shift does not stay stuck with the
 * memory split it started with (memcached's slab_rebalance_* in slabs.c; which page
 * automove picks is decided in slab-automove.ts).
 *
 * Moving a page means emptying it: every live item in it is copied to a free chunk
 * of the same class outside the page ("rescue"), or unlinked when there is none
 * ("evictions_nomem"); expired items are just unlinked. Items in use (pinned by a
 * reply still being written, or allocated and not yet stored) cannot move: the
 * pass counts them busy and the page is tried again later; after
 * SLAB_MOVE_MAX_LOOPS busy passes pinned items are unlinked and freed by their
 * last unpin. A continuation chunk of a chained item (see item-header.ts) moves on
 * its own: its predecessor's link is repointed, its head stays where it is.
 *
 * The work runs in slices of CHUNKS_PER_SLICE chunks; between slices the engine may
 * reuse chunks of the page, so the last pass over the page runs in one go and the
 * page is handed over only when that pass found nothing busy. Chunks the mover
 * freed or pulled off the free list meanwhile are held aside (flagged slabbed, on
 * no list) so the engine cannot hand them out again.
 *
 * Unlike memcached, a rescued item keeps its CAS, last-access time and LRU place
 * (memcached relinks it at the head with a fresh CAS); a move is invisible to
 * clients.
 */
import type { Cache } from './engine.js';
import { NIL, Memory, handleByte, handlePage } from './memory.js';
import {
  ITEM_CHAINED, ITEM_CHUNK, ITEM_LINKED, ITEM_SLABBED, W_EXPTIME, W_NEXT, W_PREV,
} from './item-header.js';
import { SEGMENTS } from './lru.js';
import { POWER_SMALLEST } from './slabs.js';
import { Automove } from './slab-automove.js';

/** slabs_reassign() results, named as memcached names them. */
export const REASSIGN_OK = 0;
export const REASSIGN_RUNNING = 1;
export const REASSIGN_BADCLASS = 2;
export const REASSIGN_NOSPARE = 3;
export const REASSIGN_SRC_DST_SAME = 4;
export type ReassignResult = 0 | 1 | 2 | 3 | 4;

/** Class id of the global page pool: pages owned by no class yet. */
export const SLAB_GLOBAL_PAGE_POOL = 0;
/** Busy passes before pinned items are unlinked so the page can go. */
export const SLAB_MOVE_MAX_LOOPS = 1000;
/** Chunks looked at per slice. */
export const CHUNKS_PER_SLICE = 1024;
/** Wait before another pass over a page that had busy items, ms: short at first, then
 * longer, so a reply stuck behind a slow client does not keep the mover spinning. */
const BUSY_RETRY_MS = 1;
const BUSY_RETRY_SLOW_MS = 50;
const BUSY_LOOPS_BEFORE_SLOW = 100;

/** The knobs the mover reads live (a Settings object fits). */
export interface MoverSettings {
  slabReassign: boolean;
  slabAutomove: number;
  slabAutomoveRatio: number;
  slabAutomoveWindow: number;
}

/** Pages in the global pool: the Memory's spare list (released, not yet reused). */
export function globalPagePool(mem: Memory): number {
  return mem.sparePages;
}

/** Told when an item moves to another chunk: a metadump in progress keys what it has dumped by chunk. */
export interface RelocationListener {
  relocated(from: number, to: number): void;
}

export class PageMover {
  running = false;
  private src = 0;
  private dst = 0;
  private page = 0;
  private pos = 0;
  private busy = 0;
  private busyLoops = 0;
  /** the next pass runs over the whole page in one go */
  private finalPass = false;
  private held: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private automoveTimer: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];
  private readonly automove: Automove;
  private pickCur = POWER_SMALLEST - 1;

  constructor(readonly cache: Cache, readonly settings: MoverSettings, private readonly moved: RelocationListener) {
    this.automove = new Automove(cache, settings);
  }

  /** Starts slab_automove's once-a-second check (it reads settings.slabAutomove live). */
  start(): void {
    if (this.automoveTimer) return;
    this.automoveTimer = setInterval(() => {
      this.cache.lock.run(() => this.automoveTick());
    }, 1000);
    this.automoveTimer.unref();
  }

  /** Stops automove and any move in progress (the page stays with its class). */
  stop(): void {
    if (this.automoveTimer) clearInterval(this.automoveTimer);
    this.automoveTimer = null;
    this.cancelSlice();
    if (this.running) this.abandon();
  }

  /** Resolves when no move is in progress (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    // the slices' timers are unref'd so that a move alone never keeps the daemon up;
    // someone waiting for the end must keep the loop alive until it comes
    this.timer?.ref();
    this.immediate?.ref();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** One automove decision; public so tests can drive it without waiting. */
  automoveTick(): void {
    const s = this.settings;
    if (!s.slabReassign || s.slabAutomove === 0) return;
    const pick = s.slabAutomove === 1 ? this.automove.run() : this.automove.aggressive();
    if (pick === null) return;
    this.reassign(pick[0], pick[1]);
    // memcached's LRU maintainer logs its slab_automove=1 decisions (not mode 2's, made inline)
    if (s.slabAutomove === 1 && this.cache.logging) this.cache.log!.slabMove(pick[0], pick[1]);
  }

  /** `slabs reassign src dst`: starts moving one page; the move finishes in the background. */
  reassign(src: number, dst: number): ReassignResult {
    const slabs = this.cache.slabs;
    // slab_reassign_running is shared: a move started from another thread's mover counts too
    if (this.running || this.cache.counters.slab_reassign_running !== 0) return REASSIGN_RUNNING;
    if (src === dst) return REASSIGN_SRC_DST_SAME;
    if (src === -1) src = this.pickAny(dst);
    if (src < SLAB_GLOBAL_PAGE_POOL || src > slabs.largest || dst < SLAB_GLOBAL_PAGE_POOL || dst > slabs.largest) {
      return REASSIGN_BADCLASS;
    }
    if (this.pagesOf(src) < 2) return REASSIGN_NOSPARE;
    if (src === SLAB_GLOBAL_PAGE_POOL) {
      // a pooled page holds no items: hand it over at once
      slabs.assignPage(dst, this.cache.mem.newPage(true));
      this.cache.counters.slabs_moved++;
      return REASSIGN_OK;
    }
    this.src = src;
    this.dst = dst;
    this.page = slabs.pageList.first(src); // the oldest page, as memcached takes slab_list[0]
    this.pos = 0;
    this.busy = 0;
    this.busyLoops = 0;
    this.finalPass = false;
    this.running = true;
    this.cache.counters.slab_reassign_running = 1;
    this.scheduleSlice(false);
    return REASSIGN_OK;
  }

  /** Pages a class owns; for class 0, pages in the global pool. */
  pagesOf(cls: number): number {
    return cls === SLAB_GLOBAL_PAGE_POOL ? globalPagePool(this.cache.mem) : this.cache.slabs.totalPages[cls];
  }

  /** memcached's slabs_reassign_pick_any: the next class (round robin) with a page to spare. */
  private pickAny(dst: number): number {
    const largest = this.cache.slabs.largest;
    for (let tries = largest - POWER_SMALLEST + 1; tries > 0; tries--) {
      if (++this.pickCur > largest) this.pickCur = POWER_SMALLEST;
      if (this.pickCur === dst) continue;
      if (this.cache.slabs.totalPages[this.pickCur] > 1) return this.pickCur;
    }
    return -1;
  }

  /**
   * One slice of the move. Returns true while the move goes on. Tests call this
   * (or finish()) instead of waiting for timers.
   */
  step(): boolean {
    if (!this.running) return false;
    const slabs = this.cache.slabs;
    const carved = slabs.carvedIn(this.page, this.src);
    const end = this.finalPass ? carved : Math.min(carved, this.pos + CHUNKS_PER_SLICE);
    for (let i = this.finalPass ? 0 : this.pos; i < end; i++) this.visit(slabs.chunkHandle(this.page, this.src, i));
    this.pos = end;
    if (this.pos < carved) return true;
    if (this.busy > 0) {
      this.cache.counters.slab_reassign_busy_items += this.busy;
      this.busy = 0;
      this.busyLoops++;
      this.pos = 0;
      this.finalPass = false;
      return true;
    }
    if (!this.finalPass) {
      this.finalPass = true; // the engine may have reused chunks: look once more, in one go
      return true;
    }
    this.complete();
    return false;
  }

  /**
   * Runs the move synchronously until it ends or `maxBusyPasses` passes found busy
   * items (then it carries on in the background). True if the page was moved.
   */
  finish(maxBusyPasses = 3): boolean {
    this.cancelSlice();
    const start = this.busyLoops;
    while (this.running && this.busyLoops - start < maxBusyPasses) this.step();
    if (this.running) this.scheduleSlice(true);
    return !this.running;
  }

  /** Empties one chunk of the page being moved, or counts it busy. */
  private visit(h: number): void {
    const hdr = this.cache.hdr;
    const fl = hdr.itFlags(h);
    if (fl & ITEM_SLABBED) return; // free, or already held aside
    const ec = this.cache.counters;
    if (fl & ITEM_CHUNK) {
      const head = hdr.get(h, W_PREV);
      if (!this.movable(head)) return;
      const n = this.allocOutside();
      if (n === NIL) {
        ec.slab_reassign_evictions_nomem++;
        this.drop(head);
        return;
      }
      this.copyChunk(h, n);
      let p = hdr.chainFirst(head);
      if (p === h) hdr.setChainFirst(head, n);
      else {
        while (hdr.get(p, W_NEXT) !== h) p = hdr.get(p, W_NEXT);
        hdr.set(p, W_NEXT, n);
      }
      this.hold(h);
      ec.slab_reassign_chunk_rescues++;
      return;
    }
    if (!this.movable(h)) return;
    const exp = hdr.get(h, W_EXPTIME);
    if ((exp !== 0 && exp <= this.cache.clock.now) || this.cache.isFlushed(h)) {
      this.drop(h); // expired: nothing to save
      return;
    }
    const n = this.allocOutside();
    if (n === NIL) {
      ec.slab_reassign_evictions_nomem++;
      this.drop(h);
      return;
    }
    this.relocate(h, n);
    ec.slab_reassign_rescues++;
  }

  /** A linked, unpinned item may move; anything else is busy (and maybe unlinked when stuck too long). */
  private movable(h: number): boolean {
    const hdr = this.cache.hdr;
    const linked = (hdr.itFlags(h) & ITEM_LINKED) !== 0;
    if (linked && hdr.refcount(h) === 0) return true;
    if (linked && this.busyLoops > SLAB_MOVE_MAX_LOOPS) {
      // pinned for ages: unlink it; its last unpin frees the chunk, and a later pass sees it free
      this.cache.counters.slab_reassign_busy_deletes++;
      this.cache.unlinkHandle(h);
    }
    this.busy++;
    return false;
  }

  /** Unlinks an unpinned item; if its chunk is in the page, keeps the chunk aside. */
  private drop(h: number): void {
    const hdr = this.cache.hdr;
    const slabs = this.cache.slabs;
    if (!this.inPage(h)) {
      this.cache.unlinkHandle(h); // frees it (and its chain) to the free lists
      return;
    }
    // a pin keeps unlink from freeing the chunk, so the engine cannot reuse it
    hdr.setRefcount(h, 1);
    this.cache.unlinkHandle(h);
    hdr.setRefcount(h, 0);
    if (hdr.itFlags(h) & ITEM_CHAINED) {
      for (let c = hdr.chainFirst(h); c !== NIL;) {
        const next = hdr.get(c, W_NEXT);
        slabs.free(slabs.classOf(c), c);
        c = next;
      }
    }
    this.hold(h);
  }

  /** A free chunk of the source class outside the page, or NIL (memcached's slab_rebalance_alloc). */
  private allocOutside(): number {
    const slabs = this.cache.slabs;
    for (let x = 0; x < slabs.perslab[this.src]; x++) {
      // no new page: only chunks the class already has
      if (slabs.freeChunks(this.src) <= 0) return NIL;
      const n = slabs.alloc(this.src);
      if (n === NIL) return NIL;
      if (!this.inPage(n)) return n;
      this.cache.counters.slab_reassign_inline_reclaim++;
      this.hold(n);
    }
    return NIL;
  }

  /** Moves a linked item (plain or chained head) from chunk h to chunk n, in place in index and LRU. */
  private relocate(h: number, n: number): void {
    const c = this.cache;
    const hdr = c.hdr;
    this.copyChunk(h, n);
    c.index.replace(h, n, c.hash(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h)));
    c.lru.replace(this.src * SEGMENTS + hdr.segment(h), h, n);
    if (hdr.itFlags(n) & ITEM_CHAINED) {
      for (let ch = hdr.chainFirst(n); ch !== NIL; ch = hdr.get(ch, W_NEXT)) hdr.set(ch, W_PREV, n);
    }
    this.moved.relocated(h, n);
    this.hold(h);
  }

  private copyChunk(h: number, n: number): void {
    const hdr = this.cache.hdr;
    const size = this.cache.slabs.size[this.src];
    const from = handleByte(h);
    hdr.pageU8(n).set(hdr.pageU8(h).subarray(from, from + size), handleByte(n));
  }

  private hold(h: number): void {
    this.cache.hdr.setMeta(h, 0, ITEM_SLABBED, 0);
    this.held.push(h);
  }

  private inPage(h: number): boolean {
    return handlePage(h) === this.page;
  }

  /** The page is empty: give it to the destination class (or the pool). */
  private complete(): void {
    const c = this.cache;
    const slabs = c.slabs;
    for (const h of this.held) slabs.free(this.src, h);
    this.held = [];
    slabs.removePage(this.src, this.page); // drops its free chunks from the free list
    if (this.dst !== SLAB_GLOBAL_PAGE_POOL) slabs.assignPage(this.dst, c.mem.newPage(true));
    c.counters.slabs_moved++;
    this.done();
  }

  private done(): void {
    this.running = false;
    this.cache.counters.slab_reassign_running = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** stop() during a move: held chunks go back to the free list, the page stays. */
  private abandon(): void {
    for (const h of this.held) this.cache.slabs.free(this.src, h);
    this.held = [];
    this.done();
  }

  private scheduleSlice(afterBusy: boolean): void {
    if (this.timer || this.immediate) return;
    const run = (): void => {
      this.timer = null;
      this.immediate = null;
      const loops = this.busyLoops;
      // a slice runs from a timer: it holds the engine lock like any request
      if (this.cache.lock.run(() => this.step())) this.scheduleSlice(this.busyLoops !== loops);
    };
    if (afterBusy) {
      this.timer = setTimeout(run, this.busyLoops > BUSY_LOOPS_BEFORE_SLOW ? BUSY_RETRY_SLOW_MS : BUSY_RETRY_MS);
      if (this.waiters.length === 0) this.timer.unref();
    } else {
      this.immediate = setImmediate(run);
      if (this.waiters.length === 0) this.immediate.unref();
    }
  }

  private cancelSlice(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
