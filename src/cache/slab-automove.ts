/**
 * slab_automove=1 and =2: which page to move, decided once a second from what
 * the classes did lately (memcached's slab_automove.c). The PageMover acts on it.
 */
import type { Cache } from './engine.js';
import { NIL } from './memory.js';
import { COLD_LRU } from './item-header.js';
import { SEGMENTS } from './lru.js';
import { POWER_SMALLEST } from './slabs.js';
import type { MoverSettings } from './page-mover.js';

/** Class id of the global page pool (as page-mover.ts's SLAB_GLOBAL_PAGE_POOL). */
const SLAB_GLOBAL_PAGE_POOL = 0;
const MIN_PAGES_FOR_SOURCE = 2;
const MIN_PAGES_FOR_RECLAIM = 2.5;

/**
 * memcached's default automove algorithm (slab_automove.c), run once a second:
 * over a window of `slab_automove_window` seconds, a class with more than 2.5
 * pages of free chunks and no evictions gives a page to the global pool; and if
 * the class with the youngest COLD tail keeps evicting while the oldest tail is
 * older by more than `slab_automove_ratio`, a page moves from oldest to youngest.
 */
export class Automove {
  private window: number;
  private cur = 0;
  private age: Float64Array;
  private dirty: Uint8Array;
  private evicted: Uint8Array;
  private readonly classes: number;
  private readonly evBefore: Float64Array;
  private readonly oomBefore: Float64Array;
  private readonly pagesBefore: Float64Array;

  constructor(private readonly cache: Cache, private readonly settings: MoverSettings) {
    this.classes = cache.slabs.largest + 1;
    this.window = Math.max(1, settings.slabAutomoveWindow);
    this.age = new Float64Array(this.classes * this.window);
    this.dirty = new Uint8Array(this.classes * this.window);
    this.evicted = new Uint8Array(this.classes * this.window);
    this.evBefore = Float64Array.from(cache.classCounters.evicted);
    this.oomBefore = Float64Array.from(cache.classCounters.outofmemory);
    this.pagesBefore = Float64Array.from(cache.slabs.totalPages);
  }

  /** [src, dst] to move a page, or null. */
  run(): [number, number] | null {
    const c = this.cache;
    const slabs = c.slabs;
    const cc = c.classCounters;
    if (Math.max(1, this.settings.slabAutomoveWindow) !== this.window) this.resize();
    const w = this.window;
    const ratio = this.settings.slabAutomoveRatio;
    this.cur++;
    let oldest = -1;
    let oldestAge = 0;
    let youngest = -1;
    let youngestAge = Infinity;
    let youngestEvicting = false;
    let decision: [number, number] | null = null;
    for (let n = POWER_SMALLEST; n < this.classes; n++) {
      const base = n * w;
      const slot = base + (this.cur % w);
      this.age[slot] = 0;
      this.dirty[slot] = 0;
      this.evicted[slot] = 0;
      let sumAge = 0;
      let sumDirty = 0;
      let sumEvicted = 0;
      for (let x = 0; x < w; x++) {
        sumAge += this.age[base + x];
        sumDirty += this.dirty[base + x];
        sumEvicted += this.evicted[base + x];
      }
      if (cc.evicted[n] - this.evBefore[n] > 0 || cc.outofmemory[n] - this.oomBefore[n] > 0) {
        this.evicted[slot] = 1;
        this.dirty[slot] = 1;
      }
      if (slabs.totalPages[n] - this.pagesBefore[n] > 0) this.dirty[slot] = 1;
      const tail = c.lru.tail[n * SEGMENTS + COLD_LRU];
      this.age[slot] = tail === NIL ? 0 : c.clock.now - c.lastAccess(tail);
      const age = Math.floor(sumAge / w);
      if (slabs.freeChunks(n) > slabs.perslab[n] * MIN_PAGES_FOR_RECLAIM && sumDirty === 0) {
        decision = [n, SLAB_GLOBAL_PAGE_POOL];
        break;
      }
      if (age > oldestAge && slabs.totalPages[n] > MIN_PAGES_FOR_SOURCE) {
        oldest = n;
        oldestAge = age;
      }
      if (age < youngestAge && sumEvicted > w / 2) {
        youngest = n;
        youngestAge = age;
        youngestEvicting = this.evicted[slot] === 1;
      }
    }
    this.snapshot();
    if (decision !== null) return decision;
    if (youngest !== -1 && oldest !== -1 && this.cur > w
      && youngestAge < oldestAge * ratio && youngestEvicting) return [oldest, youngest];
    return null;
  }

  /**
   * slab_automove=2: memcached reassigns a page (from any class with one to spare)
   * on every eviction; we do it once a second for a class that evicted since.
   */
  aggressive(): [number, number] | null {
    const cc = this.cache.classCounters;
    let pick: [number, number] | null = null;
    for (let n = POWER_SMALLEST; n < this.classes && pick === null; n++) {
      if (cc.evicted[n] > this.evBefore[n]) pick = [-1, n];
    }
    this.snapshot();
    return pick;
  }

  private snapshot(): void {
    this.evBefore.set(this.cache.classCounters.evicted);
    this.oomBefore.set(this.cache.classCounters.outofmemory);
    this.pagesBefore.set(this.cache.slabs.totalPages);
  }

  private resize(): void {
    this.window = Math.max(1, this.settings.slabAutomoveWindow);
    this.cur = 0;
    this.age = new Float64Array(this.classes * this.window);
    this.dirty = new Uint8Array(this.classes * this.window);
    this.evicted = new Uint8Array(this.classes * this.window);
  }
}
