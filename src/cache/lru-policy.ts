/**
 * The replacement policy: memcached's segmented LRU per slab class, or its flat one
 * (`-o no_lru_maintainer`, `no_modern`, `lru mode flat`): where an item sits (HOT,
 * WARM, COLD), what a hit does to it, and which item an allocation that found no free
 * chunk takes the memory of. lru.ts only moves links; this decides.
 */
import type { Clock } from './clock.js';
import type { ClassCounters, EngineCounters } from './class-stats.js';
import { NIL as NIL_ } from './memory.js';
import {
  COLD_LRU as COLD_LRU_, HOT_LRU as HOT_LRU_, ITEM_ACTIVE as ITEM_ACTIVE_, ITEM_FETCHED as ITEM_FETCHED_,
  type ItemHeaders, SEG_MASK as SEG_MASK_, SEG_SHIFT as SEG_SHIFT_, W_EXPTIME as W_EXPTIME_,
  W_NBYTES as W_NBYTES_, W_PREV as W_PREV_, W_TIME as W_TIME_, WARM_LRU as WARM_LRU_,
} from './item-header.js';
import { type Lru, SEGMENTS as SEGMENTS_ } from './lru.js';
import type { ItemLog } from './item-log.js';
import type { Slabs } from './slabs.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const COLD_LRU = COLD_LRU_;
const HOT_LRU = HOT_LRU_;
const ITEM_ACTIVE = ITEM_ACTIVE_;
const ITEM_FETCHED = ITEM_FETCHED_;
const NIL = NIL_;
const SEGMENTS = SEGMENTS_;
const SEG_MASK = SEG_MASK_;
const SEG_SHIFT = SEG_SHIFT_;
const WARM_LRU = WARM_LRU_;
const W_EXPTIME = W_EXPTIME_;
const W_NBYTES = W_NBYTES_;
const W_PREV = W_PREV_;
const W_TIME = W_TIME_;

/** Items looked at from an LRU tail per allocation attempt (memcached's search depth). */
const TAIL_SEARCH = 5;
/** LRU items moved between segments per insert: enough to keep pace with inserts. */
const BALANCE_MOVES = 2;
/** LRU segments an allocation takes from, in order: COLD, then HOT, then WARM. */
const PULL_ORDER: readonly number[] = [COLD_LRU, HOT_LRU, WARM_LRU];
/** The flat LRU moves a hit item to the head at most this often (memcached's ITEM_UPDATE_INTERVAL). */
const ITEM_UPDATE_INTERVAL = 60;
/** memcached's defaults for -o hot_max_factor and warm_max_factor. */
const HOT_MAX_FACTOR = 0.2;
const WARM_MAX_FACTOR = 2.0;

/** The policy's settings; `lru tune` and `lru mode` change them at run time. */
export interface LruSettings {
  hotLruPct: number;
  warmLruPct: number;
  /** false with -M: a full class answers out of memory instead of evicting */
  evictToFree: boolean;
  /** false: memcached's flat LRU (no_lru_maintainer, no_modern, `lru mode flat`) */
  lruSegmented?: boolean;
  /** -o hot_max_factor, warm_max_factor: idle age limits, times the COLD tail's age */
  hotMaxFactor?: number;
  warmMaxFactor?: number;
  /** -o tail_repair_time: seconds a held tail item may stay before it is unlinked (0: never) */
  tailRepairTime?: number;
}

/**
 * What the policy asks of the engine: whether an item is flushed, to unlink one it
 * frees, and where an eviction is reported while someone watches.
 */
export interface ItemReaper {
  isFlushed(h: number): boolean;
  unlinkHandle(h: number): void;
  readonly logging: boolean;
  readonly log: ItemLog | null;
}

export class LruPolicy {
  constructor(
    private readonly hdr: ItemHeaders,
    private readonly slabs: Slabs,
    private readonly lru: Lru,
    private readonly clock: Clock,
    private readonly counters: EngineCounters,
    private readonly cc: ClassCounters,
    private readonly settings: LruSettings,
    private readonly reaper: ItemReaper,
  ) {}

  /** The segment a new item is linked into: HOT, or COLD (the only list) when flat. */
  entrySegment(): number {
    return this.settings.lruSegmented === false ? COLD_LRU : HOT_LRU;
  }

  /**
   * Marks a hit: memcached's do_item_bump. An item hit before (ACTIVE) only counts
   * the hit: that is most hits, and all this body holds, so that it inlines into
   * the get paths (bumpFurther() has the rest).
   */
  bump(h: number): void {
    const fl = this.hdr.itFlags(h);
    const seg = (fl & SEG_MASK) >>> SEG_SHIFT;
    const cls = this.slabs.classOf(h);
    if (seg === HOT_LRU) this.cc.hits_to_hot[cls]++;
    else if (seg === WARM_LRU) this.cc.hits_to_warm[cls]++;
    else this.cc.hits_to_cold[cls]++;
    if ((fl & ITEM_ACTIVE) === 0 || this.settings.lruSegmented === false) this.bumpFurther(h, fl, seg, cls);
  }

  /** bump() of an item not yet ACTIVE, or under the flat LRU. */
  private bumpFurther(h: number, fl: number, seg: number, cls: number): void {
    const hdr = this.hdr;
    if (this.settings.lruSegmented === false) {
      // flat: a hit marks the item fetched and refreshes it, no more than once a minute
      hdr.addItFlags(h, ITEM_FETCHED);
      this.update(h);
      return;
    }
    if ((fl & ITEM_FETCHED) === 0) {
      hdr.addItFlags(h, ITEM_FETCHED);
      return;
    }
    hdr.addItFlags(h, ITEM_ACTIVE);
    if (seg !== COLD_LRU) {
      hdr.set(h, W_TIME, this.clock.now);
    } else {
      // a second hit in COLD earns a move to WARM, spending the mark (do_item_update)
      hdr.clearItFlags(h, ITEM_ACTIVE);
      this.moveTo(h, cls, COLD_LRU, WARM_LRU);
      this.cc.moves_to_warm[cls]++;
      hdr.set(h, W_TIME, this.clock.now);
    }
  }

  /**
   * memcached's do_item_update (add of an existing key, an in-place incr): refresh the
   * access time; an active item in COLD moves to WARM. Unlike a hit it marks nothing
   * fetched. The flat LRU moves the item to the head instead, at most once a minute.
   */
  update(h: number): void {
    const hdr = this.hdr;
    const fl = hdr.itFlags(h);
    const now = this.clock.now;
    if (this.settings.lruSegmented === false) {
      if (hdr.get(h, W_TIME) < now - ITEM_UPDATE_INTERVAL) {
        hdr.set(h, W_TIME, now);
        const seg = (fl & SEG_MASK) >>> SEG_SHIFT;
        this.moveTo(h, this.slabs.classOf(h), seg, seg);
      }
      return;
    }
    hdr.set(h, W_TIME, now);
    if (((fl & SEG_MASK) >>> SEG_SHIFT) === COLD_LRU && (fl & ITEM_ACTIVE) !== 0) {
      hdr.clearItFlags(h, ITEM_ACTIVE);
      this.moveTo(h, this.slabs.classOf(h), COLD_LRU, WARM_LRU);
    }
  }

  moveTo(h: number, cls: number, from: number, to: number): void {
    this.lru.unlink(cls * SEGMENTS + from, h);
    this.hdr.setSegment(h, to);
    this.lru.linkHead(cls * SEGMENTS + to, h);
  }

  /**
   * Keeps HOT and WARM within their share of the class and their idle age limit,
   * moving tails down: active items go to WARM, the rest to COLD (memcached's
   * lru_maintainer juggle, done inline a couple of items per insert instead of on a
   * thread). The age limits are the COLD tail's age times hot_max_factor and
   * warm_max_factor, whole seconds as memcached's rel_time_t. The flat LRU has no
   * segments to balance.
   */
  balance(cls: number): void {
    const opts = this.settings;
    if (opts.lruSegmented === false) return;
    const lru = this.lru;
    const hdr = this.hdr;
    const base = cls * SEGMENTS;
    const total = lru.classCount(cls);
    const hotLimit = (total * opts.hotLruPct) / 100;
    const warmLimit = (total * opts.warmLruPct) / 100;
    const now = this.clock.now;
    const coldTail = lru.tail[base + COLD_LRU];
    const coldAge = coldTail === NIL ? 0 : now - hdr.get(coldTail, W_TIME);
    const hotAge = Math.floor(coldAge * (opts.hotMaxFactor ?? HOT_MAX_FACTOR));
    const warmAge = Math.floor(coldAge * (opts.warmMaxFactor ?? WARM_MAX_FACTOR));
    const cc = this.cc;
    for (let i = 0; i < BALANCE_MOVES && lru.count[base + HOT_LRU] > 0; i++) {
      const t = lru.tail[base + HOT_LRU];
      if (lru.count[base + HOT_LRU] <= hotLimit && now - hdr.get(t, W_TIME) <= hotAge) break;
      if (hdr.itFlags(t) & ITEM_ACTIVE) {
        hdr.clearItFlags(t, ITEM_ACTIVE);
        this.moveTo(t, cls, HOT_LRU, WARM_LRU);
        cc.moves_to_warm[cls]++;
      } else {
        this.moveTo(t, cls, HOT_LRU, COLD_LRU);
        cc.moves_to_cold[cls]++;
      }
    }
    for (let i = 0; i < BALANCE_MOVES && lru.count[base + WARM_LRU] > 0; i++) {
      const t = lru.tail[base + WARM_LRU];
      if (lru.count[base + WARM_LRU] <= warmLimit && now - hdr.get(t, W_TIME) <= warmAge) break;
      if (hdr.itFlags(t) & ITEM_ACTIVE) {
        hdr.clearItFlags(t, ITEM_ACTIVE);
        this.moveTo(t, cls, WARM_LRU, WARM_LRU);
        cc.moves_within_lru[cls]++;
      } else {
        this.moveTo(t, cls, WARM_LRU, COLD_LRU);
        cc.moves_to_cold[cls]++;
      }
    }
  }

  /**
   * Frees one item of class cls. Looks at up to TAIL_SEARCH items from each tail
   * (COLD, then HOT, then WARM): an expired or flushed one is reclaimed first, even
   * if a live item is nearer the tail (memcached would evict that live one); else,
   * with eviction on, the tail-most unpinned item goes (a COLD item hit since it
   * got there is given a lap in WARM instead). False if nothing could be freed.
   */
  pullTail(cls: number): boolean {
    const base = cls * SEGMENTS;
    const lru = this.lru;
    const hdr = this.hdr;
    const cc = this.cc;
    const now = this.clock.now;
    for (let si = 0; si < PULL_ORDER.length; si++) {
      const seg = PULL_ORDER[si];
      let h = lru.tail[base + seg];
      for (let n = 0; h !== NIL && n < TAIL_SEARCH; n++, h = hdr.get(h, W_PREV)) {
        if (hdr.refcount(h) !== 0) continue;
        const exp = hdr.get(h, W_EXPTIME);
        if ((exp !== 0 && exp <= now) || this.reaper.isFlushed(h)) {
          cc.reclaimed[cls]++;
          this.counters.reclaimed++;
          if ((hdr.itFlags(h) & ITEM_FETCHED) === 0) {
            cc.expired_unfetched[cls]++;
            this.counters.expired_unfetched++;
          }
          this.reaper.unlinkHandle(h);
          return true;
        }
      }
      if (!this.settings.evictToFree) continue;
      h = lru.tail[base + seg];
      for (let n = 0; h !== NIL && n < TAIL_SEARCH; n++) {
        const prev = hdr.get(h, W_PREV);
        if (hdr.refcount(h) !== 0) {
          cc.lrutail_reflocked[cls]++;
          const repair = this.settings.tailRepairTime ?? 0;
          if (repair !== 0 && hdr.get(h, W_TIME) + repair < now) {
            // -o tail_repair_time: memcached frees a tail item held this long, taking
            // the hold for a leak. A hold here is a reply still being written, so the
            // item is only unlinked: its chunks return when that write ends (unpin).
            cc.tailrepairs[cls]++;
            this.reaper.unlinkHandle(h);
          }
          h = prev;
          continue;
        }
        const fl = hdr.itFlags(h);
        if (seg === COLD_LRU && (fl & ITEM_ACTIVE) !== 0) {
          // hit while cold: give it another lap in WARM
          hdr.clearItFlags(h, ITEM_ACTIVE);
          this.moveTo(h, cls, COLD_LRU, WARM_LRU);
          cc.moves_to_warm[cls]++;
          h = prev;
          continue;
        }
        cc.evicted[cls]++;
        this.counters.evictions++;
        if (hdr.get(h, W_EXPTIME) !== 0) cc.evicted_nonzero[cls]++;
        cc.evicted_time[cls] = now - hdr.get(h, W_TIME);
        if ((fl & ITEM_FETCHED) === 0) {
          cc.evicted_unfetched[cls]++;
          this.counters.evicted_unfetched++;
        }
        if (fl & ITEM_ACTIVE) {
          cc.evicted_active[cls]++;
          this.counters.evicted_active++;
        }
        if (this.reaper.logging) this.logEviction(h, fl, now);
        this.reaper.unlinkHandle(h);
        return true;
      }
    }
    return false;
  }
  /** memcached's LOGGER_EVICTION line: what the evicted item was. */
  private logEviction(h: number, fl: number, now: number): void {
    const hdr = this.hdr;
    const exp = hdr.get(h, W_EXPTIME);
    this.reaper.log!.eviction(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h), (fl & ITEM_FETCHED) !== 0,
      exp > 0 ? exp - now : -1, now - hdr.get(h, W_TIME), this.slabs.classOf(h), hdr.get(h, W_NBYTES));
  }
}
