/**
 * Memory for one item: a chunk of the right class, or for values past
 * slab_chunk_max a head chunk plus a chain of continuation chunks. When a class has
 * no free chunk and no page can be had, the policy frees one (reclaim or evict).
 */
import type { ClassCounters } from './class-stats.js';
import { NIL as NIL_ } from './memory.js';
import {
  CHUNK_HEADER_SIZE as CHUNK_HEADER_SIZE_, ITEM_CHUNK as ITEM_CHUNK_, type ItemHeaders,
  W_NBYTES as W_NBYTES_, W_NEXT as W_NEXT_, W_PREV as W_PREV_,
} from './item-header.js';
import type { LruPolicy } from './lru-policy.js';
import type { Slabs } from './slabs.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CHUNK_HEADER_SIZE = CHUNK_HEADER_SIZE_;
const ITEM_CHUNK = ITEM_CHUNK_;
const NIL = NIL_;
const W_NBYTES = W_NBYTES_;
const W_NEXT = W_NEXT_;
const W_PREV = W_PREV_;

/** Allocation retries (each may evict one item) before giving up. */
const ALLOC_TRIES = 10;

export class ItemAllocator {
  constructor(
    private readonly slabs: Slabs,
    private readonly hdr: ItemHeaders,
    private readonly policy: LruPolicy,
    private readonly cc: ClassCounters,
  ) {}

  /** Value bytes a chained item's head chunk holds. */
  headCapacity(nkey: number): number {
    return this.slabs.size[this.slabs.largest] - this.hdr.chainedHeadOverhead(nkey);
  }

  /**
   * Head chunk plus the continuation chunks that hold the first `ready` value bytes
   * of a value past slab_chunk_max; extend() adds the rest as bytes arrive, as
   * memcached's read_into_chunked_item does, so an upload that stalls holds only
   * what it has sent. The head comes back with its key length and chain link set.
   */
  allocChained(nkey: number, nbytes: number, ready = nbytes): number {
    const slabs = this.slabs;
    const hdr = this.hdr;
    const largest = slabs.largest;
    const head = this.allocChunk(largest);
    if (head === NIL) return NIL;
    // the head is not an item yet: keep the LRU walk off it while we allocate
    // (its nkey places the chain link, set below)
    hdr.setMeta(head, nkey, ITEM_CHUNK, 1);
    hdr.set(head, W_NBYTES, nbytes);
    hdr.setChainFirst(head, NIL);
    let covered = this.headCapacity(nkey);
    let last = head;
    while (covered < ready) {
      const c = this.extend(head, last, covered);
      if (c === NIL) {
        for (let x = hdr.chainFirst(head); x !== NIL;) {
          const next = hdr.get(x, W_NEXT);
          slabs.free(slabs.classOf(x), x);
          x = next;
        }
        slabs.free(largest, head);
        return NIL;
      }
      covered += hdr.get(c, W_NBYTES);
      last = c;
    }
    return head;
  }

  /**
   * The continuation chunk after part `last` of chained item h, whose parts so far
   * hold `covered` value bytes (W_NBYTES of h is the whole value's length). NIL
   * when no memory can be had.
   */
  extend(h: number, last: number, covered: number): number {
    const slabs = this.slabs;
    const hdr = this.hdr;
    const largest = slabs.largest;
    const chunkMax = slabs.size[largest];
    const piece = Math.min(hdr.get(h, W_NBYTES) - covered, chunkMax - CHUNK_HEADER_SIZE);
    const cls = piece === chunkMax - CHUNK_HEADER_SIZE ? largest : slabs.clsid(piece + CHUNK_HEADER_SIZE);
    const c = this.allocChunk(cls);
    if (c === NIL) return NIL;
    hdr.set(c, W_NEXT, NIL);
    hdr.set(c, W_PREV, h);
    hdr.set(c, W_NBYTES, piece);
    hdr.setMeta(c, 0, ITEM_CHUNK, 0);
    if (last === h) hdr.setChainFirst(h, c);
    else hdr.set(last, W_NEXT, c);
    return c;
  }

  /**
   * A chunk of class cls: free list, fresh page, then expired items from the LRU
   * tails, then (unless -M) eviction of the coldest unpinned item.
   */
  allocChunk(cls: number): number {
    const largest = this.slabs.largest;
    for (let tries = 0; tries < ALLOC_TRIES; tries++) {
      const h = this.slabs.alloc(cls);
      if (h !== NIL) return h;
      if (this.policy.pullTail(cls)) continue;
      // the last chunk of a chained value comes from a smaller class whose LRU holds
      // no items (chained items live in the largest class's): evicting a chained
      // item frees its chunks, and so maybe one of this class
      if (cls === largest || !this.policy.pullTail(largest)) break;
    }
    this.cc.outofmemory[cls]++;
    return NIL;
  }
}
