/**
 * The cache engine: memcached's item API over memory it manages itself.
 *
 * Keys come in as (buffer, start, length) straight from a request buffer and are
 * never turned into strings. Items are handles (numbers); their fields are read
 * through `hdr` and their values through valuePart*(). A handle returned by a
 * lookup is valid until the next call that may store, evict or delete; a caller
 * that needs the value longer (a large reply waiting on a slow socket) pins it.
 *
 * Answers are statuses from status.ts: no wire words here.
 */
import { Clock, CLOCK_CELL_SLOTS, realtime, SharedClock } from './clock.js';
import { Memory, NIL, PAGE_SIZE } from './memory.js';
import {
  CHUNK_HEADER_SIZE, ITEM_CHAINED, ITEM_FETCHED, ITEM_LINKED, ITEM_UPLOADING, ItemHeaders, REFCOUNT_MAX, W_EXPTIME,
  W_FLAGS, W_NBYTES, W_NEXT, W_PREV, W_TIME, SEG_SHIFT, SEG_MASK,
} from './item-header.js';
import { POWER_SMALLEST, Slabs } from './slabs.js';
import { HashIndex, HASHPOWER_DEFAULT, maxHashpower, type KeyHash } from './hash-index.js';
import { type HashAlgorithm, keyHashFor } from './hash-algorithms.js';
import { Lru, SEGMENTS } from './lru.js';
import { ClassCounters, EngineCounters, makeClassCounters } from './class-stats.js';
import {
  DELETED, EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, NREAD_ADD, NREAD_APPEND,
  NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE, STORED, Status, StoreMode, TOO_LARGE,
} from './status.js';
import { arith, type ArithResult } from './arith.js';
import { StoreResult, ValueCursor } from './results.js';
import { LruPolicy } from './lru-policy.js';
import { ItemAllocator } from './item-alloc.js';
import { GET_EXPIRED, GET_FLUSHED, GET_FOUND, GET_NOT_FOUND, type ItemLog } from './item-log.js';
import { SharedBlock, type SharedBuffers } from './shared-block.js';
import { EngineLock, ENGINE_LOCK_WORDS } from './engine-lock.js';
import { plainOptions, SharedOptions, type PlainEngineOptions } from './engine-options.js';

/** The handle that means "no item". */
export { NIL };

export const KEY_MAX_LENGTH = 250;
/**
 * memcached's item size beyond key and value (ITEM_ntotal): its 48-byte item header,
 * the key's NUL and the value's \r\n, plus 8 bytes of CAS unless -C. -I bounds that
 * total, and so does itemSizeOk(): the same value must be stored or refused by every
 * node of a mixed pool, whatever our smaller header saves.
 */
const MEMCACHED_ITEM_OVERHEAD = 48 + 1 + 2;
const MEMCACHED_CAS_SIZE = 8;

/** Copies n bytes; a plain loop for short runs, where making a subarray costs more. */
function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
  } else {
    dst.set(src.subarray(s, s + n), d);
  }
}

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
}

/** The engine's own scalars, slots of the shared `cache` array. */
const S_CAS = 0;
const S_UPLOAD = 1;
const S_OLDEST_LIVE = 2;
const S_OLDEST_CAS = 3;
const S_ITEM_SIZE_MAX = 4;
const S_SLOTS = 5;

export class Cache {
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
  /** Hand this to another thread's Cache.attach(). */
  readonly shared: SharedEngine;
  private readonly sc: Float64Array;

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
  private itemLog: ItemLog | null = null;
  /** store()'s result holder when logging and the caller passed none */
  private readonly logResult = new StoreResult();
  /** join()'s own write position: scratch within one call, reset at its start */
  private readonly joinCursor = new ValueCursor();

  /**
   * A new engine, its state in shared memory. `attachTo` is for attach() alone: the
   * buffers of an existing engine made with the same options.
   */
  constructor(opts: EngineOptions, attachTo?: SharedBuffers) {
    const block = new SharedBlock(attachTo);
    this.sc = block.f64('cache', S_SLOTS);
    this.lock = new EngineLock(block.i32('lock', ENGINE_LOCK_WORDS));
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
    this.shared = { options: plainOptions(opts), buffers: block.buffers };
    this.policy = new LruPolicy(this.hdr, this.slabs, this.lru, this.clock, this.counters, this.classCounters,
      this.opts, this);
    this.allocator = new ItemAllocator(this.slabs, this.hdr, this.policy, this.classCounters);
  }

  /**
   * Another thread's view of the engine `shared` describes (another Cache's
   * `shared`): the same items, index, LRUs, counters and lock. Its clock reads the
   * time the creating thread's clock keeps, unless `clock` is given.
   */
  static attach(shared: SharedEngine, clock?: Clock): Cache {
    const cell = new Float64Array(shared.buffers['clock']);
    return new Cache({ ...shared.options, clock: clock ?? new SharedClock(cell) }, shared.buffers);
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

  // ---------------------------------------------------------------- lookups

  /** The key's hash, for a caller that will both look the key up and unlink it. */
  keyHash(key: Uint8Array, ks: number, kl: number): number {
    return this.hash(key, ks, kl);
  }

  /**
   * The live item with this key, or NIL. Expired and flushed items found here are
   * unlinked on the spot (memcached's do_item_get). Does not bump or count a hit.
   * `hv` is the key's hash (keyHash()) when the caller has it already.
   */
  peek(key: Uint8Array, ks: number, kl: number, hv = this.hash(key, ks, kl)): number {
    const h = this.index.find(key, ks, kl, hv);
    if (h === NIL) {
      if (this.logging) this.itemLog!.itemGet(key, ks, kl, GET_NOT_FOUND, 0, 0);
      return NIL;
    }
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
    if (this.logging) this.itemLog!.itemGet(key, ks, kl, GET_FOUND, this.slabs.classOf(h), this.hdr.get(h, W_NBYTES));
    return h;
  }

  /** Unlinks the live item with this key, if any (a failed overwrite leaves no stale value). */
  drop(key: Uint8Array, ks: number, kl: number): void {
    const hv = this.hash(key, ks, kl);
    const h = this.peek(key, ks, kl, hv);
    if (h !== NIL) this.unlink(h, hv);
  }

  /** `get`: the item or NIL; counts get_cmds and hits/misses, bumps the LRU. */
  get(key: Uint8Array, ks: number, kl: number): number {
    const h = this.peek(key, ks, kl);
    this.counters.get_cmds++;
    if (h === NIL) {
      this.counters.get_misses++;
      return NIL;
    }
    this.classCounters.get_hits[this.slabs.classOf(h)]++;
    this.bump(h);
    return h;
  }

  /**
   * `gat`: get and touch. memcached counts it exactly as a touch (touch_cmds,
   * touch_hits/misses; cmd_get stays), so it is one.
   */
  gat(key: Uint8Array, ks: number, kl: number, exptime: number): number {
    return this.touch(key, ks, kl, exptime);
  }

  /** `touch`: new exptime; the item or NIL. */
  touch(key: Uint8Array, ks: number, kl: number, exptime: number): number {
    const h = this.peek(key, ks, kl);
    this.counters.touch_cmds++;
    if (h === NIL) {
      this.counters.touch_misses++;
      return NIL;
    }
    this.classCounters.touch_hits[this.slabs.classOf(h)]++;
    this.hdr.set(h, W_EXPTIME, realtime(this.clock, exptime));
    this.bump(h);
    return h;
  }

  /** `delete`: DELETED, NOT_FOUND, or EXISTS when `cas` is given and differs. */
  delete(key: Uint8Array, ks: number, kl: number, cas = 0): Status {
    const hv = this.hash(key, ks, kl);
    const h = this.peek(key, ks, kl, hv);
    if (h === NIL) {
      this.counters.delete_misses++;
      return NOT_FOUND;
    }
    if (cas !== 0 && cas !== this.hdr.cas(h)) return EXISTS;
    this.classCounters.delete_hits[this.slabs.classOf(h)]++;
    this.unlink(h, hv);
    return DELETED;
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

  // ---------------------------------------------------------------- values

  valueLength(h: number): number {
    return this.hdr.get(h, W_NBYTES);
  }
  flags(h: number): number {
    return this.hdr.get(h, W_FLAGS);
  }
  cas(h: number): number {
    return this.hdr.cas(h);
  }
  /** rel_time the item expires at, 0 for never. */
  exptime(h: number): number {
    return this.hdr.get(h, W_EXPTIME);
  }
  /** Seconds left to live, -1 for never (meta's t flag). */
  ttl(h: number): number {
    const e = this.hdr.get(h, W_EXPTIME);
    return e === 0 ? -1 : e - this.clock.now;
  }
  /** Sets the expiry as rel_time (already converted by realtime()); 0 = never. */
  setExptime(h: number, relExptime: number): void {
    this.hdr.set(h, W_EXPTIME, relExptime);
  }
  /** Fetched since stored (meta h flag, me fetch=). */
  fetched(h: number): boolean {
    return (this.hdr.itFlags(h) & ITEM_FETCHED) !== 0;
  }
  lastAccess(h: number): number {
    return this.hdr.get(h, W_TIME);
  }
  classOf(h: number): number {
    return this.slabs.classOf(h);
  }

  /**
   * A value is read in parts: one for a plain item, one per chunk for a chained
   * one. valuePartFirst() gives the first part, valuePartNext() the following (NIL
   * at the end); partU8/partStart/partLength say where its bytes are.
   */
  valuePartFirst(h: number): number {
    return h;
  }
  valuePartNext(h: number, part: number): number {
    if ((this.hdr.itFlags(h) & ITEM_CHAINED) === 0) return NIL;
    return part === h ? this.hdr.chainFirst(h) : this.hdr.get(part, W_NEXT);
  }
  partU8(part: number): Buffer {
    return this.hdr.pageU8(part);
  }
  partStart(h: number, part: number): number {
    return part === h ? this.hdr.valueByte(h) : this.hdr.keyByte(part) - this.hdr.headerSize + CHUNK_HEADER_SIZE;
  }
  partLength(h: number, part: number): number {
    if (part !== h) return this.hdr.get(part, W_NBYTES);
    if ((this.hdr.itFlags(h) & ITEM_CHAINED) === 0) return this.hdr.get(h, W_NBYTES);
    return this.allocator.headCapacity(this.hdr.nkey(h));
  }

  /** Copies the whole value into dst at dstOff; returns the bytes copied. */
  copyValue(h: number, dst: Uint8Array, dstOff: number): number {
    const hdr = this.hdr;
    if ((hdr.itFlags(h) & ITEM_CHAINED) === 0) {
      const len = hdr.get(h, W_NBYTES);
      copyBytes(hdr.pageU8(h), hdr.keyByte(h) + hdr.nkey(h), dst, dstOff, len);
      return len;
    }
    let n = 0;
    for (let p = h; p !== NIL; p = this.valuePartNext(h, p)) {
      const s = this.partStart(h, p);
      const len = this.partLength(h, p);
      copyBytes(this.partU8(p), s, dst, dstOff + n, len);
      n += len;
    }
    return n;
  }

  /** Pins a value so its chunks are not reused until unpin(); false if it can't be pinned. */
  pin(h: number): boolean {
    const r = this.hdr.refcount(h);
    // the last count is kept for the engine's own short holds (append, page mover),
    // so the 8-bit field can never wrap under a crowd of slow readers
    if (r >= REFCOUNT_MAX - 1) return false;
    this.hdr.setRefcount(h, r + 1);
    return true;
  }
  unpin(h: number): void {
    const r = this.hdr.refcount(h) - 1;
    this.hdr.setRefcount(h, r);
    if (r === 0 && (this.hdr.itFlags(h) & ITEM_LINKED) === 0) this.freeItem(h);
  }

  // ---------------------------------------------------------------- stores

  /**
   * Whether an item with this key and value length may be stored at all (-I);
   * memcached's item_size_ok. After alloc() gave NIL it says why: false is
   * TOO_LARGE, true is NO_MEMORY.
   */
  itemSizeOk(kl: number, nbytes: number): boolean {
    const overhead = MEMCACHED_ITEM_OVERHEAD + (this.hdr.useCas ? MEMCACHED_CAS_SIZE : 0);
    return overhead + kl + nbytes <= this.itemSizeMax && nbytes <= 0xffffffff;
  }

  /** Why alloc() of this size gave NIL: TOO_LARGE or NO_MEMORY. */
  allocFailure(kl: number, nbytes: number): Status {
    return this.itemSizeOk(kl, nbytes) ? NO_MEMORY : TOO_LARGE;
  }

  /**
   * An unlinked item ready to take `nbytes` of value, or NIL (allocFailure() says
   * why). Fill it with writeValue(), then store() or release(). `ready` (bytes of
   * the value at hand) below nbytes makes it an upload: a chained value then gets
   * its chunks as writeValue() reaches them, and its memory counts in uploadBytes.
   */
  alloc(key: Uint8Array, ks: number, kl: number, flags: number, exptime: number, nbytes: number, ready = nbytes): number {
    const hdr = this.hdr;
    if (!this.itemSizeOk(kl, nbytes)) return NIL;
    // our header is smaller than memcached's, so what passed the check above fits
    const total = hdr.headerSize + kl + nbytes;
    const largest = this.slabs.largest;
    const chained = total > this.slabs.size[largest];
    const h = chained ? this.allocator.allocChained(kl, nbytes, ready) : this.allocator.allocChunk(this.slabs.clsid(total));
    if (h === NIL) return NIL;
    hdr.set(h, W_NEXT, NIL);
    hdr.set(h, W_PREV, NIL);
    hdr.set(h, W_TIME, this.clock.now);
    hdr.set(h, W_EXPTIME, realtime(this.clock, exptime));
    hdr.set(h, W_FLAGS, flags >>> 0);
    hdr.set(h, W_NBYTES, nbytes);
    // a chained head came with its nkey and chain link set (allocChained)
    const upload = ready < nbytes;
    hdr.setMeta(h, kl, (chained ? ITEM_CHAINED : 0) | (upload ? ITEM_UPLOADING : 0), 0);
    hdr.setCas(h, 0);
    copyBytes(key, ks, hdr.pageU8(h), hdr.keyByte(h), kl);
    if (upload) this.uploadBytes += this.chunkBytes(h);
    return h;
  }

  /**
   * Copies src[s, e) into the value of unlinked item h at byte `offset`. A value
   * filled in pieces passes the upload's cursor, so that a chained value continues
   * from where the last piece ended; without one each write walks from the head.
   * False when an upload's next chunk could not be had (no memory even after
   * evicting): the caller answers and releases h.
   */
  writeValue(h: number, offset: number, src: Uint8Array, s: number, e: number, cur: ValueCursor | null = null): boolean {
    const hdr = this.hdr;
    if ((hdr.itFlags(h) & ITEM_CHAINED) === 0) {
      copyBytes(src, s, hdr.pageU8(h), hdr.valueByte(h) + offset, e - s);
      return true;
    }
    let part: number;
    let partStart: number;
    if (cur !== null && cur.item === h && offset >= cur.partStart) {
      part = cur.part;
      partStart = cur.partStart;
    } else {
      part = h;
      partStart = 0;
    }
    let ok = true;
    while (s < e) {
      let len = this.partLength(h, part);
      while (offset >= partStart + len) {
        let next = this.valuePartNext(h, part);
        if (next === NIL) {
          // an upload's next chunk, allocated as its bytes arrive
          next = this.allocator.extend(h, part, partStart + len);
          if (next === NIL) {
            ok = false;
            break;
          }
          this.uploadBytes += this.slabs.size[this.slabs.classOf(next)];
        }
        partStart += len;
        part = next;
        len = this.partLength(h, part);
      }
      if (!ok) break;
      const within = offset - partStart;
      const n = Math.min(e - s, len - within);
      this.partU8(part).set(src.subarray(s, s + n), this.partStart(h, part) + within);
      s += n;
      offset += n;
    }
    if (cur !== null) {
      cur.item = h;
      cur.part = part;
      cur.partStart = partStart;
    }
    return ok;
  }

  /** Chunk bytes item h holds (its head and every continuation chunk allocated so far). */
  private chunkBytes(h: number): number {
    const slabs = this.slabs;
    let n = slabs.size[slabs.classOf(h)];
    if (this.hdr.itFlags(h) & ITEM_CHAINED) {
      for (let c = this.hdr.chainFirst(h); c !== NIL; c = this.hdr.get(c, W_NEXT)) n += slabs.size[slabs.classOf(c)];
    }
    return n;
  }

  /** An upload is over (stored or dropped): its memory no longer counts as uploading. */
  private uploadDone(h: number): void {
    if ((this.hdr.itFlags(h) & ITEM_UPLOADING) === 0) return;
    this.uploadBytes -= this.chunkBytes(h);
    this.hdr.clearItFlags(h, ITEM_UPLOADING);
  }

  /** Frees an item from alloc() that will not be stored (bad data chunk, client gone). */
  release(h: number): void {
    this.uploadDone(h);
    this.freeItem(h);
  }

  /**
   * Stores the unlinked item h (from alloc) under its key with memcached's store
   * semantics for `mode`; `cas` is the compare value for NREAD_CAS (and, when not
   * 0, for append/prepend as binary clients send it). h is consumed either way.
   * After STORED, `res` (when given) holds the item now linked: h, or for
   * append/prepend the joined item.
   */
  store(h: number, mode: StoreMode, cas = 0, res: StoreResult | null = null): Status {
    if (!this.logging) return this.storeItem(h, mode, cas, res);
    // a refused item is freed by the store: note what its log line needs first
    // (the key bytes stay in place, as nothing is allocated before the line is made)
    const hdr = this.hdr;
    const nkey = hdr.nkey(h);
    const nbytes = hdr.get(h, W_NBYTES);
    const exp = hdr.get(h, W_EXPTIME);
    const cls = this.slabs.classOf(h);
    const out = res ?? this.logResult;
    const status = this.storeItem(h, mode, cas, out);
    if (status === STORED) {
      // the item now linked: h, or the joined one for append/prepend
      const it = out.item;
      const e = hdr.get(it, W_EXPTIME);
      this.itemLog!.itemStore(hdr.pageU8(it), hdr.keyByte(it), hdr.nkey(it), status, mode, hdr.get(it, W_NBYTES),
        e !== 0 ? (e - this.clock.now) >>> 0 : 0, this.slabs.classOf(it));
    } else {
      this.itemLog!.itemStore(hdr.pageU8(h), hdr.keyByte(h), nkey, status, mode, nbytes,
        exp !== 0 ? (exp - this.clock.now) >>> 0 : 0, cls);
    }
    return status;
  }

  private storeItem(h: number, mode: StoreMode, cas: number, res: StoreResult | null): Status {
    const hdr = this.hdr;
    this.uploadDone(h);
    const pu8 = hdr.pageU8(h);
    const ks = hdr.keyByte(h);
    const kl = hdr.nkey(h);
    const hv = this.hash(pu8, ks, kl);
    const old = this.peek(pu8, ks, kl, hv);
    const cls = this.slabs.classOf(h);
    this.classCounters.cmd_set[cls]++;
    let status: Status;
    if (old !== NIL && mode === NREAD_ADD) {
      // add of an existing key refreshes it in the LRU, as memcached does
      this.policy.update(old);
      status = NOT_STORED;
    } else if (old === NIL && (mode === NREAD_REPLACE || mode === NREAD_APPEND || mode === NREAD_PREPEND)) {
      status = NOT_STORED;
    } else if (mode === NREAD_CAS) {
      if (old === NIL) {
        this.counters.cas_misses++;
        status = NOT_FOUND;
      } else if (hdr.useCas && cas === hdr.cas(old)) {
        // with -C every item's CAS reads 0, yet memcached 1.6.18 still answers EXISTS
        this.classCounters.cas_hits[this.slabs.classOf(old)]++;
        this.replaceItem(old, h, hv);
        if (res !== null) res.item = h;
        return STORED;
      } else {
        this.classCounters.cas_badval[this.slabs.classOf(old)]++;
        status = EXISTS;
      }
    } else if (mode === NREAD_APPEND || mode === NREAD_PREPEND) {
      if (cas !== 0 && cas !== hdr.cas(old)) {
        status = EXISTS;
      } else {
        const joined = this.join(old, h, mode === NREAD_APPEND);
        if (joined === NIL) {
          status = NOT_STORED;
        } else {
          this.replaceItem(old, joined, hv);
          this.freeItem(h);
          if (res !== null) res.item = joined;
          return STORED;
        }
      }
    } else {
      // set, and replace/add that passed the checks above
      if (old !== NIL) this.replaceItem(old, h, hv);
      else this.link(h, hv);
      if (res !== null) res.item = h;
      return STORED;
    }
    this.freeItem(h);
    if (res !== null) res.item = NIL;
    return status;
  }

  /** Convenience for callers holding the whole value: alloc + write + store. */
  set(mode: StoreMode, key: Uint8Array, ks: number, kl: number, flags: number, exptime: number,
    value: Uint8Array, vs: number, vl: number, cas = 0): Status {
    const h = this.alloc(key, ks, kl, flags, exptime, vl);
    if (h === NIL) return this.allocFailure(kl, vl);
    this.writeValue(h, 0, value, vs, vs + vl);
    return this.store(h, mode, cas);
  }

  /** Writes src's whole value into item dst's value at byte `at`. */
  private copyValueInto(dst: number, at: number, src: number): void {
    for (let p = src; p !== NIL; p = this.valuePartNext(src, p)) {
      const s = this.partStart(src, p);
      const len = this.partLength(src, p);
      this.writeValue(dst, at, this.partU8(p), s, s + len, this.joinCursor);
      at += len;
    }
  }

  /** append/prepend: a new item holding old's value joined with add's. NIL if it won't fit. */
  private join(old: number, add: number, append: boolean): number {
    const hdr = this.hdr;
    const oldLen = hdr.get(old, W_NBYTES);
    const addLen = hdr.get(add, W_NBYTES);
    // pin old: allocating may evict it, and its bytes must survive until copied
    // (`add` is not linked, so no eviction can reach it)
    hdr.setRefcount(old, hdr.refcount(old) + 1);
    const n = this.alloc(hdr.pageU8(old), hdr.keyByte(old), hdr.nkey(old), hdr.get(old, W_FLAGS), 0, oldLen + addLen);
    if (n !== NIL) {
      hdr.set(n, W_EXPTIME, hdr.get(old, W_EXPTIME));
      // a prepend's first write is past offset 0: forget any earlier join's position
      this.joinCursor.item = NIL;
      const oldAt = append ? 0 : addLen;
      this.copyValueInto(n, oldAt, old);
      this.copyValueInto(n, append ? oldLen : 0, add);
    }
    this.unpin(old);
    return n;
  }

  /**
   * incr/decr on a 64-bit unsigned decimal value (arith.ts): OK with the new value
   * and the item holding it in `res`, NOT_FOUND, NON_NUMERIC, EXISTS (cas given
   * and different) or NO_MEMORY. delta and initial are Numbers below 2^53, BigInts
   * above (U64). With `initial` >= 0 a miss creates the item (binary and meta
   * protocols) with that value and `exptime`. `hv` is the key's hash (keyHash())
   * when the caller has it already.
   */
  arith(key: Uint8Array, ks: number, kl: number, incr: boolean, delta: number | bigint, res: ArithResult,
    initial: number | bigint = -1, exptime = 0, cas = 0, hv = this.hash(key, ks, kl)): Status {
    return arith(this, key, ks, kl, incr, delta, res, initial, exptime, cas, hv);
  }

  /** flush_all [delay]: memcached's oldest_live / oldest_cas rules. */
  flush(delay: number): void {
    const newOldest = delay > 0 ? realtime(this.clock, delay) : this.clock.now;
    if (this.hdr.useCas) {
      this.oldestLive = newOldest - 1;
      if (this.oldestLive <= this.clock.now) this.oldestCas = this.casId + 1;
    } else {
      this.oldestLive = newOldest;
    }
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

  private freeItem(h: number): void {
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

  // ---------------------------------------------------------------- admin

  /** cache_memlimit: a new -m; memory already handed out stays until moved. */
  setMemLimit(bytes: number): void {
    this.mem.limitPages = Math.max(1, Math.floor(bytes / PAGE_SIZE));
  }

  /** Background step (timers, idle loop): hash expansion. True if work remains. */
  maintain(): boolean {
    return this.index.maintain(256);
  }
}
