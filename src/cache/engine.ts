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
import { Clock, realtime } from './clock.js';
import { Memory, NIL, PAGE_SIZE } from './memory.js';
import {
  CHUNK_HEADER_SIZE, COLD_LRU, HOT_LRU, ITEM_ACTIVE, ITEM_CHAINED, ITEM_CHUNK, ITEM_FETCHED,
  ITEM_LINKED, ItemHeaders, REFCOUNT_MAX, W_EXPTIME, W_FLAGS, W_NBYTES, W_NEXT, W_PREV,
  W_TIME, WARM_LRU, SEG_SHIFT, SEG_MASK,
} from './item-header.js';
import { Slabs } from './slabs.js';
import { HashIndex, hashKey, HASHPOWER_DEFAULT } from './hash-index.js';
import { Lru, SEGMENTS } from './lru.js';
import { ClassCounters, EngineCounters, makeClassCounters } from './class-stats.js';
import {
  DELETED, EXISTS, NO_MEMORY, NON_NUMERIC, NOT_FOUND, NOT_STORED, NREAD_ADD, NREAD_APPEND,
  NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE, OK, STORED, Status, StoreMode, TOO_LARGE,
} from './status.js';
import { safeStrtoull, U64_MAX } from './numeric.js';

export const KEY_MAX_LENGTH = 250;
/** Bump an item's access time at most this often, so hot keys don't churn the LRU. */
export const ITEM_UPDATE_INTERVAL = 60;
/** Items looked at from an LRU tail per allocation attempt (memcached's search depth). */
const TAIL_SEARCH = 5;
/** Allocation retries (each may evict one item) before giving up. */
const ALLOC_TRIES = 10;
/** LRU items moved between segments per insert: enough to keep pace with inserts. */
const BALANCE_MOVES = 2;
/** LRU segments an allocation takes from, in order: COLD, then HOT, then WARM. */
const PULL_ORDER: readonly number[] = [COLD_LRU, HOT_LRU, WARM_LRU];

/** Copies n bytes; a plain loop for short runs, where making a subarray costs more. */
function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
  } else {
    dst.set(src.subarray(s, s + n), d);
  }
}

export interface EngineOptions {
  maxbytes: number;
  itemSizeMax: number;
  growthFactor: number;
  chunkSize: number;
  slabChunkMax: number;
  evictToFree: boolean;
  useCas: boolean;
  preallocate: boolean;
  hashpowerInit: number;
  hotLruPct: number;
  warmLruPct: number;
  clock: Clock;
}

export class Cache {
  readonly mem: Memory;
  readonly hdr: ItemHeaders;
  readonly slabs: Slabs;
  readonly index: HashIndex;
  readonly lru: Lru;
  readonly clock: Clock;
  readonly counters = new EngineCounters();
  readonly classCounters: ClassCounters;
  readonly opts: EngineOptions;
  itemSizeMax: number;
  evictToFree: boolean;
  casId = 0;
  /** flush_all: items last touched at or before this rel_time are dead (0: none) */
  oldestLive = 0;
  /** flush_all: items with CAS below this are dead, for same-second flushes */
  oldestCas = 0;
  /** result of the last successful arith(): the new value */
  arithValue = 0n;
  /** item the last arith()/touch() worked on (valid until the next engine call) */
  lastItem = NIL;
  /** why the last lookup missed: 0 none, 1 expired, 2 flushed */
  lastMissReason = 0;
  /** hash of the key of the last peek() */
  lastHv = 0;
  // streaming writes into a chained value: where the last write ended
  private wItem = NIL;
  private wChunk = NIL;
  private wChunkStart = 0;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.itemSizeMax = opts.itemSizeMax;
    this.evictToFree = opts.evictToFree;
    this.mem = new Memory(opts.maxbytes, opts.preallocate);
    this.hdr = new ItemHeaders(this.mem, opts.useCas);
    this.slabs = new Slabs(this.mem, this.hdr, {
      growthFactor: opts.growthFactor,
      chunkSize: opts.chunkSize,
      slabChunkMax: Math.min(opts.slabChunkMax, PAGE_SIZE / 2),
      headerSize: this.hdr.headerSize,
    });
    this.index = new HashIndex(this.hdr, opts.hashpowerInit || HASHPOWER_DEFAULT);
    this.lru = new Lru(this.hdr, this.slabs.largest + 1);
    this.classCounters = makeClassCounters(this.slabs.largest + 1);
  }

  // ---------------------------------------------------------------- lookups

  /**
   * The live item with this key, or NIL. Expired and flushed items found here are
   * unlinked on the spot (memcached's do_item_get). Does not bump or count a hit.
   */
  peek(key: Uint8Array, ks: number, kl: number): number {
    const hv = hashKey(key, ks, kl);
    this.lastHv = hv;
    const h = this.index.find(key, ks, kl, hv);
    this.lastMissReason = 0;
    if (h === NIL) return NIL;
    if (this.isFlushed(h)) {
      this.counters.get_flushed++;
      this.lastMissReason = 2;
      this.unlink(h, hv);
      return NIL;
    }
    const exp = this.hdr.get(h, W_EXPTIME);
    if (exp !== 0 && exp <= this.clock.now) {
      this.counters.get_expired++;
      this.lastMissReason = 1;
      this.unlink(h, hv);
      return NIL;
    }
    return h;
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

  /** `gat`: get and touch. Counts as memcached counts gat (get_cmds and touch_*). */
  gat(key: Uint8Array, ks: number, kl: number, exptime: number): number {
    const h = this.peek(key, ks, kl);
    this.counters.get_cmds++;
    this.counters.touch_cmds++;
    if (h === NIL) {
      this.counters.touch_misses++;
      this.counters.get_misses++;
      return NIL;
    }
    this.classCounters.touch_hits[this.slabs.classOf(h)]++;
    this.hdr.set(h, W_EXPTIME, realtime(this.clock, exptime));
    this.bump(h);
    return h;
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
    const h = this.peek(key, ks, kl);
    if (h === NIL) {
      this.counters.delete_misses++;
      return NOT_FOUND;
    }
    if (cas !== 0 && cas !== this.hdr.cas(h)) return EXISTS;
    this.classCounters.delete_hits[this.slabs.classOf(h)]++;
    this.unlink(h, this.lastHv);
    return DELETED;
  }

  /** Marks a hit: memcached's segmented do_item_bump. */
  bump(h: number): void {
    const hdr = this.hdr;
    const fl = hdr.itFlags(h);
    const seg = (fl & SEG_MASK) >>> SEG_SHIFT;
    const cls = this.slabs.classOf(h);
    if (seg === HOT_LRU) this.classCounters.hits_to_hot[cls]++;
    else if (seg === WARM_LRU) this.classCounters.hits_to_warm[cls]++;
    else this.classCounters.hits_to_cold[cls]++;
    if (fl & ITEM_ACTIVE) return;
    if ((fl & ITEM_FETCHED) === 0) {
      hdr.addItFlags(h, ITEM_FETCHED);
      return;
    }
    hdr.addItFlags(h, ITEM_ACTIVE);
    if (seg !== COLD_LRU) {
      hdr.set(h, W_TIME, this.clock.now);
    } else {
      // a second hit in COLD earns a move to WARM
      this.moveTo(h, cls, COLD_LRU, WARM_LRU);
      this.classCounters.moves_to_warm[cls]++;
      hdr.set(h, W_TIME, this.clock.now);
    }
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
    return this.headCapacity(this.hdr.nkey(h));
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
    if (r >= REFCOUNT_MAX) return false;
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
   * An unlinked item ready to take `nbytes` of value, or NIL with `allocStatus`
   * TOO_LARGE or NO_MEMORY. Fill it with writeValue(), then store() or release().
   */
  allocStatus: Status = OK;
  alloc(key: Uint8Array, ks: number, kl: number, flags: number, exptime: number, nbytes: number): number {
    const hdr = this.hdr;
    const total = hdr.headerSize + kl + nbytes;
    if (total > this.itemSizeMax || nbytes > 0xffffffff) {
      this.allocStatus = TOO_LARGE;
      return NIL;
    }
    const largest = this.slabs.largest;
    const chained = total > this.slabs.size[largest];
    const h = chained ? this.allocChained(kl, nbytes) : this.allocChunk(this.slabs.clsid(total));
    if (h === NIL) {
      this.allocStatus = NO_MEMORY;
      return NIL;
    }
    hdr.set(h, W_NEXT, NIL);
    hdr.set(h, W_PREV, NIL);
    hdr.set(h, W_TIME, this.clock.now);
    hdr.set(h, W_EXPTIME, realtime(this.clock, exptime));
    hdr.set(h, W_FLAGS, flags >>> 0);
    hdr.set(h, W_NBYTES, nbytes);
    hdr.setMeta(h, kl, chained ? ITEM_CHAINED : 0, 0);
    if (chained) hdr.setChainFirst(h, this.pendingChain);
    hdr.setCas(h, 0);
    copyBytes(key, ks, hdr.pageU8(h), hdr.keyByte(h), kl);
    this.allocStatus = OK;
    return h;
  }

  /** Copies src[s, e) into the value of unlinked item h at byte `offset`. */
  writeValue(h: number, offset: number, src: Uint8Array, s: number, e: number): void {
    const hdr = this.hdr;
    if ((hdr.itFlags(h) & ITEM_CHAINED) === 0) {
      copyBytes(src, s, hdr.pageU8(h), hdr.valueByte(h) + offset, e - s);
      return;
    }
    // chained: continue from where the last write ended if we can
    let part: number;
    let partStart: number;
    if (this.wItem === h && offset >= this.wChunkStart) {
      part = this.wChunk;
      partStart = this.wChunkStart;
    } else {
      part = h;
      partStart = 0;
    }
    while (s < e) {
      let len = this.partLength(h, part);
      while (offset >= partStart + len) {
        partStart += len;
        part = this.valuePartNext(h, part);
        len = this.partLength(h, part);
      }
      const within = offset - partStart;
      const n = Math.min(e - s, len - within);
      this.partU8(part).set(src.subarray(s, s + n), this.partStart(h, part) + within);
      s += n;
      offset += n;
    }
    this.wItem = h;
    this.wChunk = part;
    this.wChunkStart = partStart;
  }

  /** Frees an item from alloc() that will not be stored (bad data chunk, client gone). */
  release(h: number): void {
    if (this.wItem === h) this.wItem = NIL;
    this.freeItem(h);
  }

  /**
   * Stores the unlinked item h (from alloc) under its key with memcached's store
   * semantics for `mode`; `cas` is the compare value for NREAD_CAS (and, when not
   * 0, for append/prepend as binary clients send it). h is consumed either way.
   */
  store(h: number, mode: StoreMode, cas = 0): Status {
    const hdr = this.hdr;
    if (this.wItem === h) this.wItem = NIL;
    const pu8 = hdr.pageU8(h);
    const ks = hdr.keyByte(h);
    const kl = hdr.nkey(h);
    const old = this.peek(pu8, ks, kl);
    const hv = this.lastHv;
    const cls = this.slabs.classOf(h);
    this.classCounters.cmd_set[cls]++;
    let status: Status;
    if (old !== NIL && mode === NREAD_ADD) {
      // add of an existing key refreshes it in the LRU, as memcached does
      this.bump(old);
      status = NOT_STORED;
    } else if (old === NIL && (mode === NREAD_REPLACE || mode === NREAD_APPEND || mode === NREAD_PREPEND)) {
      status = NOT_STORED;
    } else if (mode === NREAD_CAS) {
      if (old === NIL) {
        this.counters.cas_misses++;
        status = NOT_FOUND;
      } else if (cas === hdr.cas(old)) {
        this.classCounters.cas_hits[this.slabs.classOf(old)]++;
        this.replaceItem(old, h, hv);
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
          status = STORED;
        }
      }
    } else {
      // set, and replace/add that passed the checks above
      if (old !== NIL) this.replaceItem(old, h, hv);
      else this.link(h, hv);
      return STORED;
    }
    this.freeItem(h);
    return status;
  }

  /** Convenience for callers holding the whole value: alloc + write + store. */
  set(mode: StoreMode, key: Uint8Array, ks: number, kl: number, flags: number, exptime: number,
    value: Uint8Array, vs: number, vl: number, cas = 0): Status {
    const h = this.alloc(key, ks, kl, flags, exptime, vl);
    if (h === NIL) return this.allocStatus;
    this.writeValue(h, 0, value, vs, vs + vl);
    return this.store(h, mode, cas);
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
      const first = append ? old : add;
      const second = append ? add : old;
      let off = 0;
      for (const src of [first, second]) {
        for (let p = src; p !== NIL; p = this.valuePartNext(src, p)) {
          const s = this.partStart(src, p);
          const len = this.partLength(src, p);
          this.writeValue(n, off, this.partU8(p), s, s + len);
          off += len;
        }
      }
      if (this.wItem === n) this.wItem = NIL;
    }
    this.unpin(old);
    return n;
  }

  /**
   * incr/decr on a 64-bit unsigned decimal value, as memcached's do_add_delta: OK
   * with the result in arithValue, NOT_FOUND, NON_NUMERIC, EXISTS (cas given and
   * different) or NO_MEMORY. With `initial` >= 0n a miss creates the item (binary
   * and meta protocols) with that value and `exptime`.
   */
  arith(key: Uint8Array, ks: number, kl: number, incr: boolean, delta: bigint,
    initial = -1n, exptime = 0, cas = 0): Status {
    const hdr = this.hdr;
    let h = this.peek(key, ks, kl);
    this.lastItem = NIL;
    if (h === NIL) {
      if (incr) this.counters.incr_misses++;
      else this.counters.decr_misses++;
      if (initial < 0n) return NOT_FOUND;
      const digits = initial.toString();
      const st = this.setDecimal(key, ks, kl, digits, 0, exptime);
      if (st !== STORED) return st;
      this.arithValue = initial;
      this.lastItem = this.peek(key, ks, kl);
      return OK;
    }
    if (cas !== 0 && cas !== hdr.cas(h)) return EXISTS;
    const len = hdr.get(h, W_NBYTES);
    if (len === 0 || (hdr.itFlags(h) & ITEM_CHAINED) !== 0) return NON_NUMERIC;
    const u8 = hdr.pageU8(h);
    const vs = hdr.valueByte(h);
    let value = safeStrtoull(u8, vs, vs + len);
    if (value < 0n) return NON_NUMERIC;
    const cls = this.slabs.classOf(h);
    if (incr) {
      value = (value + delta) & U64_MAX;
      this.classCounters.incr_hits[cls]++;
    } else {
      value = delta > value ? 0n : value - delta;
      this.classCounters.decr_hits[cls]++;
    }
    this.arithValue = value;
    const digits = value.toString();
    const res = digits.length;
    if (res <= len && hdr.refcount(h) === 0) {
      // in place, padded with spaces: memcached's well-known incr/decr quirk
      for (let i = 0; i < res; i++) u8[vs + i] = digits.charCodeAt(i);
      u8.fill(0x20, vs + res, vs + len);
      hdr.setCas(h, this.nextCas());
      this.lastItem = h;
      return OK;
    }
    const st = this.setDecimal(key, ks, kl, digits, hdr.get(h, W_FLAGS), -1, hdr.get(h, W_EXPTIME));
    if (st !== STORED) return NO_MEMORY;
    this.lastItem = this.peek(key, ks, kl);
    return OK;
  }

  /** Stores a decimal string as a value; relExptime >= 0 overrides the wire exptime. */
  private setDecimal(key: Uint8Array, ks: number, kl: number, digits: string, flags: number,
    exptime: number, relExptime = -1): Status {
    const h = this.alloc(key, ks, kl, flags, exptime < 0 ? 0 : exptime, digits.length);
    if (h === NIL) return this.allocStatus;
    if (relExptime >= 0) this.hdr.set(h, W_EXPTIME, relExptime);
    const u8 = this.hdr.pageU8(h);
    const vs = this.hdr.valueByte(h);
    for (let i = 0; i < digits.length; i++) u8[vs + i] = digits.charCodeAt(i);
    const old = this.peek(key, ks, kl);
    const hv = this.lastHv;
    if (old !== NIL) this.replaceItem(old, h, hv);
    else this.link(h, hv);
    return STORED;
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

  private link(h: number, hv: number): void {
    const hdr = this.hdr;
    const cls = this.slabs.classOf(h);
    hdr.addItFlags(h, ITEM_LINKED);
    hdr.setSegment(h, HOT_LRU);
    hdr.set(h, W_TIME, this.clock.now);
    hdr.setCas(h, this.nextCas());
    this.index.insert(h, hv);
    this.lru.linkHead(cls * SEGMENTS + HOT_LRU, h);
    const c = this.counters;
    c.curr_items++;
    c.total_items++;
    const size = this.itemSize(h);
    c.bytes += size;
    this.classCounters.mem_requested[cls] += size;
    this.balance(cls);
  }

  private replaceItem(old: number, h: number, hv: number): void {
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

  private moveTo(h: number, cls: number, from: number, to: number): void {
    this.lru.unlink(cls * SEGMENTS + from, h);
    this.hdr.setSegment(h, to);
    this.lru.linkHead(cls * SEGMENTS + to, h);
  }

  /**
   * Keeps HOT and WARM within their share of the class, moving tails down:
   * active items go to WARM, the rest to COLD (memcached's lru_maintainer juggle,
   * done inline a couple of items per insert instead of on a thread).
   */
  private balance(cls: number): void {
    const lru = this.lru;
    const hdr = this.hdr;
    const base = cls * SEGMENTS;
    const total = lru.classCount(cls);
    const hotLimit = (total * this.opts.hotLruPct) / 100;
    const warmLimit = (total * this.opts.warmLruPct) / 100;
    const cc = this.classCounters;
    for (let i = 0; i < BALANCE_MOVES && lru.count[base + HOT_LRU] > hotLimit; i++) {
      const t = lru.tail[base + HOT_LRU];
      if (hdr.itFlags(t) & ITEM_ACTIVE) {
        hdr.clearItFlags(t, ITEM_ACTIVE);
        this.moveTo(t, cls, HOT_LRU, WARM_LRU);
        cc.moves_to_warm[cls]++;
      } else {
        this.moveTo(t, cls, HOT_LRU, COLD_LRU);
        cc.moves_to_cold[cls]++;
      }
    }
    for (let i = 0; i < BALANCE_MOVES && lru.count[base + WARM_LRU] > warmLimit; i++) {
      const t = lru.tail[base + WARM_LRU];
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

  // ---------------------------------------------------------------- allocation

  /** Value bytes a chained item's head chunk holds. */
  private headCapacity(nkey: number): number {
    return this.slabs.size[this.slabs.largest] - this.hdr.chainedHeadOverhead(nkey);
  }

  private pendingChain = NIL;

  /** Head chunk plus continuation chunks for a value past slab_chunk_max. */
  private allocChained(nkey: number, nbytes: number): number {
    const slabs = this.slabs;
    const hdr = this.hdr;
    const largest = slabs.largest;
    const chunkMax = slabs.size[largest];
    const head = this.allocChunk(largest);
    if (head === NIL) return NIL;
    // the head is not an item yet: keep the LRU walk off it while we allocate
    hdr.setMeta(head, 0, ITEM_CHUNK, 1);
    let remaining = nbytes - (chunkMax - hdr.chainedHeadOverhead(nkey));
    let first = NIL;
    let prev = NIL;
    while (remaining > 0) {
      const piece = Math.min(remaining, chunkMax - CHUNK_HEADER_SIZE);
      const cls = piece === chunkMax - CHUNK_HEADER_SIZE ? largest : slabs.clsid(piece + CHUNK_HEADER_SIZE);
      const c = this.allocChunk(cls);
      if (c === NIL) {
        for (let x = first; x !== NIL;) {
          const next = hdr.get(x, W_NEXT);
          slabs.free(slabs.classOf(x), x);
          x = next;
        }
        slabs.free(largest, head);
        return NIL;
      }
      hdr.set(c, W_NEXT, NIL);
      hdr.set(c, W_PREV, head);
      hdr.set(c, W_NBYTES, piece);
      hdr.setMeta(c, 0, ITEM_CHUNK, 0);
      if (prev === NIL) first = c;
      else hdr.set(prev, W_NEXT, c);
      prev = c;
      remaining -= piece;
    }
    this.pendingChain = first;
    return head;
  }

  /**
   * A chunk of class cls: free list, fresh page, then expired items from the LRU
   * tails, then (unless -M) eviction of the coldest unpinned item.
   */
  private allocChunk(cls: number): number {
    for (let tries = 0; tries < ALLOC_TRIES; tries++) {
      const h = this.slabs.alloc(cls);
      if (h !== NIL) return h;
      if (!this.pullTail(cls)) break;
    }
    this.classCounters.outofmemory[cls]++;
    return NIL;
  }

  /**
   * Frees one item of class cls. Looks at up to TAIL_SEARCH items from each tail
   * (COLD, then HOT, then WARM): an expired or flushed one is reclaimed first, even
   * if a live item is nearer the tail (memcached would evict that live one); else,
   * with eviction on, the tail-most unpinned item goes (a COLD item hit since it
   * got there is given a lap in WARM instead). False if nothing could be freed.
   */
  private pullTail(cls: number): boolean {
    const base = cls * SEGMENTS;
    const lru = this.lru;
    const hdr = this.hdr;
    const cc = this.classCounters;
    const now = this.clock.now;
    for (let si = 0; si < PULL_ORDER.length; si++) {
      const seg = PULL_ORDER[si];
      let h = lru.tail[base + seg];
      for (let n = 0; h !== NIL && n < TAIL_SEARCH; n++, h = hdr.get(h, W_PREV)) {
        if (hdr.refcount(h) !== 0) continue;
        const exp = hdr.get(h, W_EXPTIME);
        if ((exp !== 0 && exp <= now) || this.isFlushed(h)) {
          cc.reclaimed[cls]++;
          this.counters.reclaimed++;
          if ((hdr.itFlags(h) & ITEM_FETCHED) === 0) {
            cc.expired_unfetched[cls]++;
            this.counters.expired_unfetched++;
          }
          this.unlinkHandle(h);
          return true;
        }
      }
      if (!this.evictToFree) continue;
      h = lru.tail[base + seg];
      for (let n = 0; h !== NIL && n < TAIL_SEARCH; n++) {
        const prev = hdr.get(h, W_PREV);
        if (hdr.refcount(h) !== 0) {
          cc.lrutail_reflocked[cls]++;
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
        this.unlinkHandle(h);
        return true;
      }
    }
    return false;
  }

  /** Unlinks an item found by handle (LRU walk, crawler, page mover). */
  unlinkHandle(h: number): void {
    const hdr = this.hdr;
    this.unlink(h, hashKey(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h)));
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
