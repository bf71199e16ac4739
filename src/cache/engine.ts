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
import { Clock, realtime, SharedClock } from './clock.js';
import { NIL as NIL_, PAGE_SIZE as PAGE_SIZE_ } from './memory.js';
import { W_EXPTIME as W_EXPTIME_ } from './item-header.js';
import { DELETED as DELETED_, EXISTS as EXISTS_, NOT_FOUND as NOT_FOUND_, Status } from './status.js';
import { arith, type ArithResult } from './arith.js';
import { EngineStores } from './engine-stores.js';
import type { SharedEngine } from './engine-core.js';
import { EngineLock } from './engine-lock.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const DELETED = DELETED_;
const EXISTS = EXISTS_;
const NIL = NIL_;
const NOT_FOUND = NOT_FOUND_;
const PAGE_SIZE = PAGE_SIZE_;
const W_EXPTIME = W_EXPTIME_;

/** The handle that means "no item" (re-exported from memory.ts, so that the local NIL stays unexported). */
export { NIL } from './memory.js';
export { KEY_MAX_LENGTH, initialHashpower, type EngineOptions, type SharedEngine } from './engine-core.js';

export class Cache extends EngineStores {
  /**
   * Another thread's view of the engine `shared` describes (another Cache's
   * `shared`): the same items, index, LRUs, counters and lock. Its clock reads the
   * time the creating thread's clock keeps, unless `clock` is given.
   */
  static attach(shared: SharedEngine, clock?: Clock): Cache {
    const cell = new Float64Array(shared.buffers['clock']);
    // the tables' sizes are read from shared state, which only the lock holder may read
    const lock = new EngineLock(new Int32Array(shared.buffers['lock']));
    lock.enter();
    try {
      return new Cache({ ...shared.options, clock: clock ?? new SharedClock(cell) }, { ...shared.buffers }, shared.channel);
    } finally {
      lock.exit();
    }
  }

  // ---------------------------------------------------------------- lookups

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

  // ---------------------------------------------------------------- admin

  /**
   * cache_memlimit: a new -m; memory already handed out stays until moved. Above
   * the arenas, more are added (up to what item handles address), and every thread
   * takes them in on its next entry to the lock. The caller holds the lock. False,
   * changing nothing, with -L: memcached cannot adjust memory it preallocated.
   */
  setMemLimit(bytes: number): boolean {
    if (this.opts.preallocate) return false;
    const pages = Math.max(1, Math.floor(bytes / PAGE_SIZE));
    this.mem.limitPages = pages;
    this.growth.growFor(pages);
    return true;
  }

  /** Background step (timers, idle loop): hash expansion, under the engine lock. True if work remains. */
  maintain(): boolean {
    this.lock.enter();
    try {
      return this.index.maintain(256);
    } finally {
      this.lock.exit();
    }
  }
}
