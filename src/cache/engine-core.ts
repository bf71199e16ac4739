/**
 * The engine's state and its core: the tables in shared memory, the item log hook,
 * lookup by key (peek), and linking items into and out of the index and the LRU.
 * engine-values.ts, engine-stores.ts and engine.ts build the item API on it.
 */
import { Clock, CLOCK_CELL_SLOTS as CLOCK_CELL_SLOTS_ } from './clock.js';
import { Memory, NIL as NIL_, PAGE_SIZE as PAGE_SIZE_ } from './memory.js';
import {
  ITEM_CHAINED as ITEM_CHAINED_, ITEM_LINKED as ITEM_LINKED_, ItemHeaders, W_EXPTIME as W_EXPTIME_,
  W_NBYTES as W_NBYTES_, W_NEXT as W_NEXT_, W_TIME as W_TIME_, SEG_SHIFT as SEG_SHIFT_,
  SEG_MASK as SEG_MASK_,
} from './item-header.js';
import { POWER_SMALLEST as POWER_SMALLEST_, Slabs } from './slabs.js';
import { HashIndex, HASHPOWER_DEFAULT as HASHPOWER_DEFAULT_, maxHashpower, type KeyHash } from './hash-index.js';
import { type HashAlgorithm, keyHashFor } from './hash-algorithms.js';
import { Lru, SEGMENTS as SEGMENTS_ } from './lru.js';
import { ClassCounters, EngineCounters, makeClassCounters } from './class-stats.js';
import { LruPolicy } from './lru-policy.js';
import { ItemAllocator } from './item-alloc.js';
import {
  GET_EXPIRED as GET_EXPIRED_, GET_FLUSHED as GET_FLUSHED_, GET_FOUND as GET_FOUND_,
  GET_NOT_FOUND as GET_NOT_FOUND_, type ItemLog,
} from './item-log.js';
import { SharedBlock, type SharedBuffers } from './shared-block.js';
import { EngineLock, ENGINE_LOCK_WORDS as ENGINE_LOCK_WORDS_ } from './engine-lock.js';
import { copyPlainBytes, copySharedBytes, type CopyBytes } from './copy-bytes.js';
import { plainOptions, SharedOptions, type PlainEngineOptions } from './engine-options.js';
import { EngineGrowth, growthChannelName } from './engine-growth.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CLOCK_CELL_SLOTS = CLOCK_CELL_SLOTS_;
const ENGINE_LOCK_WORDS = ENGINE_LOCK_WORDS_;
const GET_EXPIRED = GET_EXPIRED_;
const GET_FLUSHED = GET_FLUSHED_;
const GET_FOUND = GET_FOUND_;
const GET_NOT_FOUND = GET_NOT_FOUND_;
const HASHPOWER_DEFAULT = HASHPOWER_DEFAULT_;
const ITEM_CHAINED = ITEM_CHAINED_;
const ITEM_LINKED = ITEM_LINKED_;
const NIL = NIL_;
const PAGE_SIZE = PAGE_SIZE_;
const POWER_SMALLEST = POWER_SMALLEST_;
const SEGMENTS = SEGMENTS_;
const SEG_MASK = SEG_MASK_;
const SEG_SHIFT = SEG_SHIFT_;
const W_EXPTIME = W_EXPTIME_;
const W_NBYTES = W_NBYTES_;
const W_NEXT = W_NEXT_;
const W_TIME = W_TIME_;

export const KEY_MAX_LENGTH = 250;
/**
 * memcached's item size beyond key and value (ITEM_ntotal): its 48-byte item header,
 * the key's NUL and the value's \r\n, plus 8 bytes of CAS unless -C. -I bounds that
 * total, and so does itemSizeOk(): the same value must be stored or refused by every
 * node of a mixed pool, whatever our smaller header saves.
 */
export const MEMCACHED_ITEM_OVERHEAD = 48 + 1 + 2;
export const MEMCACHED_CAS_SIZE = 8;

/**
 * Starting hash size when -o hashpower isn't given: one bucket per KiB of -m (at
 * least memcached's 2^16). Doubling rehashes every key from item memory, a random
 * read per item; a cache that will hold millions of items pays that many times over
 * on its way up, so start near the size it will need. Costs 4 bytes per KiB of -m.
 */
export function initialHashpower(maxbytes: number): number {
  return Math.max(HASHPOWER_DEFAULT, Math.min(HASHPOWER_MAX_INITIAL, Math.ceil(Math.log2(maxbytes / 1024))));
}
const HASHPOWER_MAX_INITIAL = 26;

export interface EngineOptions {
  maxbytes: number;
  itemSizeMax: number;
  growthFactor: number;
  chunkSize: number;
  slabChunkMax: number;
  /** -o slab_sizes: explicit chunk sizes instead of the -n/-f series */
  slabSizes?: readonly number[] | null;
  evictToFree: boolean;
  useCas: boolean;
  preallocate: boolean;
  hashpowerInit: number;
  hotLruPct: number;
  warmLruPct: number;
  /** false: memcached's flat LRU, one list per class (`lru mode` changes it live; default true) */
  lruSegmented?: boolean;
  /** HOT and WARM idle age limits, times the COLD tail's age (`lru tune` changes them; default 0.2, 2.0) */
  hotMaxFactor?: number;
  warmMaxFactor?: number;
  /** -o tail_repair_time: seconds after which a pinned LRU tail item is unlinked (default 0, never) */
  tailRepairTime?: number;
  /** -o no_hashexpand: the hash table keeps its starting size (default true) */
  hashExpand?: boolean;
  /** -o hash_algorithm (default murmur3) */
  hashAlgorithm?: HashAlgorithm;
  /**
   * Other threads will attach to this engine (the daemon at -t N, N > 1): its memory
   * is then SharedArrayBuffers. Unset, it is plain ArrayBuffers, which V8 copies and
   * views faster (shared-block.ts), and `shared` cannot be handed out.
   */
  sharedMemory?: boolean;
  clock: Clock;
}

/**
 * What another thread needs to attach to an engine (Cache.attach): its options
 * (all but the clock) and its shared buffers. Structured-clonable: post it or pass
 * it in workerData.
 */
export interface SharedEngine {
  options: PlainEngineOptions;
  buffers: SharedBuffers;
  /** The BroadcastChannel on which a thread that grows the engine posts the new buffers (engine-growth.ts). */
  channel: string;
}

/** The engine's own scalars, slots of the shared `cache` array. */
const S_CAS = 0;
const S_UPLOAD = 1;
const S_OLDEST_LIVE = 2;
const S_OLDEST_CAS = 3;
const S_ITEM_SIZE_MAX = 4;
const S_SLOTS = 5;

/**
 * The engine's state and core operations; Cache (engine.ts) is the class to use.
 * It is split over a chain of classes by job only: every instance is a Cache.
 */
export class EngineCore {
  readonly mem: Memory;
  readonly hdr: ItemHeaders;
  readonly slabs: Slabs;
  readonly index: HashIndex;
  /** The key hash -o hash_algorithm picked. */
  readonly hash: KeyHash;
  /** Its name: a snapshot's saved buckets are good only under the same hash. */
  get hashName(): HashAlgorithm {
    return this.opts.hashAlgorithm ?? 'murmur3';
  }
  readonly lru: Lru;
  readonly policy: LruPolicy;
  readonly allocator: ItemAllocator;
  readonly clock: Clock;
  readonly counters: EngineCounters;
  readonly classCounters: ClassCounters;
  readonly opts: SharedOptions;
  /** This thread's handle on the one engine lock (engine-lock.ts). */
  readonly lock: EngineLock;
  /** Adds memory past the arenas made at start, and takes in other threads' additions. */
  protected readonly growth: EngineGrowth;
  private readonly block: SharedBlock;
  /** Copies bytes into and out of item memory, the way that is cheapest for its kind of buffer. */
  protected readonly copy: CopyBytes;
  private readonly plain: PlainEngineOptions;
  /** One word: a crawl or metadump runs on some thread (crawler.ts). */
  readonly crawling: Int32Array;
  private readonly sc: Float64Array;

  /**
   * Hand this to another thread's Cache.attach(). Its buffers are this thread's, up
   * to date (it takes the lock to catch up), and from here on this thread hears of
   * other threads' growths.
   */
  get shared(): SharedEngine {
    if (!this.block.shared) throw new Error('this engine was made without sharedMemory: no other thread can attach to it');
    this.lock.enter();
    this.lock.share();
    try {
      this.growth.open();
      return { options: this.plain, buffers: this.block.buffers, channel: this.growth.name };
    } finally {
      this.lock.exit();
    }
  }

  get itemSizeMax(): number {
    return this.sc[S_ITEM_SIZE_MAX];
  }
  set itemSizeMax(v: number) {
    this.sc[S_ITEM_SIZE_MAX] = v;
  }
  /** The last CAS value handed out. */
  get casId(): number {
    return this.sc[S_CAS];
  }
  set casId(v: number) {
    this.sc[S_CAS] = v;
  }
  /** item memory held by uploads in progress (values still arriving), for `stats` */
  get uploadBytes(): number {
    return this.sc[S_UPLOAD];
  }
  set uploadBytes(v: number) {
    this.sc[S_UPLOAD] = v;
  }
  /** flush_all: items last touched at or before this rel_time are dead (0: none) */
  get oldestLive(): number {
    return this.sc[S_OLDEST_LIVE];
  }
  set oldestLive(v: number) {
    this.sc[S_OLDEST_LIVE] = v;
  }
  /** flush_all: items with CAS below this are dead, for same-second flushes */
  get oldestCas(): number {
    return this.sc[S_OLDEST_CAS];
  }
  set oldestCas(v: number) {
    this.sc[S_OLDEST_CAS] = v;
  }
  /**
   * Someone watches item events (setItemLog): the single test the request path
   * pays when nobody does.
   */
  logging = false;
  protected itemLog: ItemLog | null = null;

  /**
   * A new engine, its state in the buffers of one block (shared memory with
   * opts.sharedMemory). `attachTo` is for attach() alone: the buffers of an existing
   * engine made with the same options.
   */
  constructor(opts: EngineOptions, attachTo?: SharedBuffers, channel?: string) {
    // an attached engine is shared whatever its options say
    const block = new SharedBlock(opts.sharedMemory === true || attachTo !== undefined, attachTo);
    this.block = block;
    this.copy = block.shared ? copySharedBytes : copyPlainBytes;
    this.sc = block.f64('cache', S_SLOTS);
    this.lock = new EngineLock(block.i32('lock', ENGINE_LOCK_WORDS));
    this.crawling = block.i32('crawling', 1);
    if (!block.attached) this.lock.alone();
    const cell = block.f64('clock', CLOCK_CELL_SLOTS);
    if (!block.attached) {
      // the clock writes the time where attached engines read it
      if (opts.clock.share) {
        opts.clock.share(cell);
      } else {
        cell[0] = opts.clock.now;
        cell[1] = opts.clock.processStarted;
      }
      this.itemSizeMax = opts.itemSizeMax;
    }
    this.opts = new SharedOptions(opts, block);
    this.clock = opts.clock;
    this.counters = new EngineCounters(block);
    this.mem = new Memory(opts.maxbytes, opts.preallocate, block);
    this.hdr = new ItemHeaders(this.mem, opts.useCas);
    this.slabs = new Slabs(this.mem, this.hdr, {
      growthFactor: opts.growthFactor,
      chunkSize: opts.chunkSize,
      slabChunkMax: Math.min(opts.slabChunkMax, PAGE_SIZE / 2),
      headerSize: this.hdr.headerSize,
      slabSizes: opts.slabSizes ?? null,
    }, block);
    this.hash = keyHashFor(opts.hashAlgorithm);
    const hashpower = opts.hashpowerInit || initialHashpower(opts.maxbytes);
    const canExpand = opts.hashExpand ?? true;
    // buckets for as many of the smallest items as every page could hold
    const maxItems = this.mem.maxPages * this.slabs.perslab[POWER_SMALLEST];
    this.index = new HashIndex(this.hdr, hashpower, canExpand, this.hash, block,
      maxHashpower(hashpower, canExpand, maxItems));
    this.lru = new Lru(this.hdr, this.slabs.largest + 1, block);
    this.classCounters = makeClassCounters(this.slabs.largest + 1, block);
    this.plain = plainOptions(opts);
    this.growth = new EngineGrowth(channel ?? growthChannelName(), this, block);
    // attached (Cache.attach holds the lock): these tables are current, later growths come by message
    if (block.attached) this.growth.open();
    this.policy = new LruPolicy(this.hdr, this.slabs, this.lru, this.clock, this.counters, this.classCounters,
      this.opts, this);
    this.allocator = new ItemAllocator(this.slabs, this.hdr, this.policy, this.classCounters);
  }

  /** Starts (or, with null, stops) reporting lookups, stores and evictions to `log`. */
  setItemLog(log: ItemLog | null): void {
    this.itemLog = log;
    this.logging = log !== null;
  }

  /** The hook, for the engine's other modules (eviction); null when nobody watches. */
  get log(): ItemLog | null {
    return this.itemLog;
  }


  /** The key's hash, for a caller that will both look the key up and unlink it. */
  keyHash(key: Uint8Array, ks: number, kl: number): number {
    return this.hash(key, ks, kl);
  }

  /**
   * The live item with this key, or NIL. Expired and flushed items found here are
   * unlinked on the spot (memcached's do_item_get). Does not bump or count a hit.
   * `hv` is the key's hash (keyHash()) when the caller has it already.
   *
   * Every get, store and delete starts here, so the common case (no flush_all ever
   * run, the item unexpired, nobody watching) is all this body holds: the rest is
   * in peekSlow() and logGet(). TurboFan inlines by bytecode size against a budget
   * per optimized function, and a smaller body here leaves room for the calls
   * around it (item header reads, reply writes) to be inlined too.
   */
  peek(key: Uint8Array, ks: number, kl: number, hv = this.hash(key, ks, kl)): number {
    const h = this.index.find(key, ks, kl, hv);
    if (h !== NIL) {
      const exp = this.hdr.get(h, W_EXPTIME);
      if ((exp !== 0 && exp <= this.clock.now) || this.oldestLive !== 0) return this.peekSlow(key, ks, kl, hv, h);
    }
    if (this.logging) this.logGet(key, ks, kl, h);
    return h;
  }

  /** peek() of an item that may be expired or flushed (a flush_all was run). */
  private peekSlow(key: Uint8Array, ks: number, kl: number, hv: number, h: number): number {
    if (this.isFlushed(h)) {
      this.counters.get_flushed++;
      this.unlink(h, hv);
      if (this.logging) this.itemLog!.itemGet(key, ks, kl, GET_FLUSHED, 0, 0);
      return NIL;
    }
    const exp = this.hdr.get(h, W_EXPTIME);
    if (exp !== 0 && exp <= this.clock.now) {
      this.counters.get_expired++;
      this.unlink(h, hv);
      if (this.logging) this.itemLog!.itemGet(key, ks, kl, GET_EXPIRED, 0, 0);
      return NIL;
    }
    if (this.logging) this.logGet(key, ks, kl, h);
    return h;
  }

  /** The item log's line for a lookup that found the live item h, or nothing (NIL). */
  private logGet(key: Uint8Array, ks: number, kl: number, h: number): void {
    if (h === NIL) this.itemLog!.itemGet(key, ks, kl, GET_NOT_FOUND, 0, 0);
    else this.itemLog!.itemGet(key, ks, kl, GET_FOUND, this.slabs.classOf(h), this.hdr.get(h, W_NBYTES));
  }

  /** Marks a hit (memcached's do_item_bump). */
  bump(h: number): void {
    this.policy.bump(h);
  }

  /** false with -M: a full class answers out of memory instead of evicting */
  get evictToFree(): boolean {
    return this.opts.evictToFree;
  }

  isFlushed(h: number): boolean {
    const ol = this.oldestLive;
    if (ol === 0 || ol > this.clock.now) return false;
    if (this.hdr.get(h, W_TIME) <= ol) return true;
    return this.oldestCas !== 0 && this.hdr.cas(h) < this.oldestCas;
  }



  nextCas(): number {
    return this.hdr.useCas ? ++this.casId : 0;
  }

  // ---------------------------------------------------------------- linking

  /** Makes an unlinked item live under its key: index, HOT head, counters. */
  link(h: number, hv: number): void {
    const hdr = this.hdr;
    const cls = this.slabs.classOf(h);
    hdr.addItFlags(h, ITEM_LINKED);
    const seg = this.policy.entrySegment();
    hdr.setSegment(h, seg);
    hdr.set(h, W_TIME, this.clock.now);
    hdr.setCas(h, this.nextCas());
    this.index.insert(h, hv);
    this.lru.linkHead(cls * SEGMENTS + seg, h);
    const c = this.counters;
    c.curr_items++;
    c.total_items++;
    const size = this.itemSize(h);
    c.bytes += size;
    this.classCounters.mem_requested[cls] += size;
    this.policy.balance(cls);
  }

  replaceItem(old: number, h: number, hv: number): void {
    this.unlink(old, hv);
    this.link(h, hv);
  }

  /** Takes an item out of the index and its LRU; frees it unless pinned. */
  unlink(h: number, hv: number): void {
    const hdr = this.hdr;
    const fl = hdr.itFlags(h);
    if ((fl & ITEM_LINKED) === 0) return;
    const cls = this.slabs.classOf(h);
    this.index.remove(h, hv);
    this.lru.unlink(cls * SEGMENTS + ((fl & SEG_MASK) >>> SEG_SHIFT), h);
    hdr.clearItFlags(h, ITEM_LINKED);
    const c = this.counters;
    c.curr_items--;
    const size = this.itemSize(h);
    c.bytes -= size;
    this.classCounters.mem_requested[cls] -= size;
    if (hdr.refcount(h) === 0) this.freeItem(h);
  }

  /** Bytes an item with this key and value length takes (header included). */
  itemBytes(nkey: number, nbytes: number): number {
    return this.hdr.headerSize + nkey + nbytes;
  }

  /** Bytes an item accounts for in `bytes` and mem_requested. */
  itemSize(h: number): number {
    return this.hdr.headerSize + this.hdr.nkey(h) + this.hdr.get(h, W_NBYTES);
  }

  protected freeItem(h: number): void {
    const hdr = this.hdr;
    if (hdr.itFlags(h) & ITEM_CHAINED) {
      let c = hdr.chainFirst(h);
      while (c !== NIL) {
        const next = hdr.get(c, W_NEXT);
        this.slabs.free(this.slabs.classOf(c), c);
        c = next;
      }
    }
    this.slabs.free(this.slabs.classOf(h), h);
  }

  /** Unlinks an item found by handle (LRU walk, crawler, page mover). */
  unlinkHandle(h: number): void {
    const hdr = this.hdr;
    this.unlink(h, this.hash(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h)));
  }

}
