/**
 * Stores: memcached's set/add/replace/append/prepend/cas semantics over an item
 * filled by EngineValues, including the joined item of append and prepend.
 */
import { NIL as NIL_ } from './memory.js';
import { W_EXPTIME as W_EXPTIME_, W_FLAGS as W_FLAGS_, W_NBYTES as W_NBYTES_ } from './item-header.js';
import {
  EXISTS as EXISTS_, NOT_FOUND as NOT_FOUND_, NOT_STORED as NOT_STORED_, NREAD_ADD as NREAD_ADD_,
  NREAD_APPEND as NREAD_APPEND_, NREAD_CAS as NREAD_CAS_, NREAD_PREPEND as NREAD_PREPEND_,
  NREAD_REPLACE as NREAD_REPLACE_, STORED as STORED_, Status, StoreMode,
} from './status.js';
import { StoreResult, ValueCursor } from './results.js';
import { EngineValues } from './engine-values.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const EXISTS = EXISTS_;
const NIL = NIL_;
const NOT_FOUND = NOT_FOUND_;
const NOT_STORED = NOT_STORED_;
const NREAD_ADD = NREAD_ADD_;
const NREAD_APPEND = NREAD_APPEND_;
const NREAD_CAS = NREAD_CAS_;
const NREAD_PREPEND = NREAD_PREPEND_;
const NREAD_REPLACE = NREAD_REPLACE_;
const STORED = STORED_;
const W_EXPTIME = W_EXPTIME_;
const W_FLAGS = W_FLAGS_;
const W_NBYTES = W_NBYTES_;

export class EngineStores extends EngineValues {
  /** store()'s result holder when logging and the caller passed none */
  private readonly logResult = new StoreResult();
  /** join()'s own write position: scratch within one call, reset at its start */
  private readonly joinCursor = new ValueCursor();

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

}
