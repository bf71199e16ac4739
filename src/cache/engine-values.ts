/**
 * Items' values: reading them in parts, pinning them, and allocating and filling
 * an unlinked item (plain or chained, at once or as an upload's bytes arrive).
 */
import { realtime } from './clock.js';
import { NIL as NIL_ } from './memory.js';
import {
  CHUNK_HEADER_SIZE as CHUNK_HEADER_SIZE_, ITEM_CHAINED as ITEM_CHAINED_, ITEM_FETCHED as ITEM_FETCHED_,
  ITEM_LINKED as ITEM_LINKED_, ITEM_UPLOADING as ITEM_UPLOADING_, REFCOUNT_MAX as REFCOUNT_MAX_,
  W_EXPTIME as W_EXPTIME_, W_FLAGS as W_FLAGS_, W_NBYTES as W_NBYTES_, W_NEXT as W_NEXT_, W_PREV as W_PREV_,
  W_TIME as W_TIME_,
} from './item-header.js';
import { NO_MEMORY as NO_MEMORY_, Status, TOO_LARGE as TOO_LARGE_ } from './status.js';
import { ValueCursor } from './results.js';
import {
  EngineCore, MEMCACHED_CAS_SIZE as MEMCACHED_CAS_SIZE_, MEMCACHED_ITEM_OVERHEAD as MEMCACHED_ITEM_OVERHEAD_,
} from './engine-core.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CHUNK_HEADER_SIZE = CHUNK_HEADER_SIZE_;
const ITEM_CHAINED = ITEM_CHAINED_;
const ITEM_FETCHED = ITEM_FETCHED_;
const ITEM_LINKED = ITEM_LINKED_;
const ITEM_UPLOADING = ITEM_UPLOADING_;
const MEMCACHED_CAS_SIZE = MEMCACHED_CAS_SIZE_;
const MEMCACHED_ITEM_OVERHEAD = MEMCACHED_ITEM_OVERHEAD_;
const NIL = NIL_;
const NO_MEMORY = NO_MEMORY_;
const REFCOUNT_MAX = REFCOUNT_MAX_;
const TOO_LARGE = TOO_LARGE_;
const W_EXPTIME = W_EXPTIME_;
const W_FLAGS = W_FLAGS_;
const W_NBYTES = W_NBYTES_;
const W_NEXT = W_NEXT_;
const W_PREV = W_PREV_;
const W_TIME = W_TIME_;

export class EngineValues extends EngineCore {
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
      this.copy(hdr.pageU8(h), hdr.keyByte(h) + hdr.nkey(h), dst, dstOff, len);
      return len;
    }
    let n = 0;
    for (let p = h; p !== NIL; p = this.valuePartNext(h, p)) {
      const s = this.partStart(h, p);
      const len = this.partLength(h, p);
      this.copy(this.partU8(p), s, dst, dstOff + n, len);
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


  // ---------------------------------------------------------------- allocation

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
    this.copy(key, ks, hdr.pageU8(h), hdr.keyByte(h), kl);
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
      this.copy(src, s, hdr.pageU8(h), hdr.valueByte(h) + offset, e - s);
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
      this.copy(src, s, this.partU8(part), this.partStart(h, part) + within, n);
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
  protected chunkBytes(h: number): number {
    const slabs = this.slabs;
    let n = slabs.size[slabs.classOf(h)];
    if (this.hdr.itFlags(h) & ITEM_CHAINED) {
      for (let c = this.hdr.chainFirst(h); c !== NIL; c = this.hdr.get(c, W_NEXT)) n += slabs.size[slabs.classOf(c)];
    }
    return n;
  }

  /** An upload is over (stored or dropped): its memory no longer counts as uploading. */
  protected uploadDone(h: number): void {
    if ((this.hdr.itFlags(h) & ITEM_UPLOADING) === 0) return;
    this.uploadBytes -= this.chunkBytes(h);
    this.hdr.clearItFlags(h, ITEM_UPLOADING);
  }

  /** Frees an item from alloc() that will not be stored (bad data chunk, client gone). */
  release(h: number): void {
    this.uploadDone(h);
    this.freeItem(h);
  }

}
