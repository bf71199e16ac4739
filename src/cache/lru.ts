/**
 * Segmented LRU per slab class, as memcached's (HOT, WARM, COLD): doubly linked
 * lists threaded through the items' NEXT/PREV header fields, heads and tails in typed
 * arrays indexed by class * 3 + segment. Head = newest; NEXT points toward the tail.
 *
 * This module is the only code that writes the heads, tails and links; the policy
 * (what goes where, what to evict) is lru-policy.ts.
 */
import { NIL as NIL_ } from './memory.js';
import { ItemHeaders, W_NEXT as W_NEXT_, W_PREV as W_PREV_ } from './item-header.js';
import type { SharedBlock } from './shared-block.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const NIL = NIL_;
const W_NEXT = W_NEXT_;
const W_PREV = W_PREV_;

export const SEGMENTS = 3;

export class Lru {
  readonly head: Uint32Array;
  readonly tail: Uint32Array;
  readonly count: Float64Array;

  constructor(private readonly hdr: ItemHeaders, classes: number, block: SharedBlock) {
    this.head = block.u32('lru.head', classes * SEGMENTS);
    this.tail = block.u32('lru.tail', classes * SEGMENTS);
    this.count = block.f64('lru.count', classes * SEGMENTS);
  }

  /** Links h at the head of list `id` (class * SEGMENTS + segment). */
  linkHead(id: number, h: number): void {
    const hdr = this.hdr;
    const first = this.head[id];
    hdr.set(h, W_PREV, NIL);
    hdr.set(h, W_NEXT, first);
    if (first !== NIL) hdr.set(first, W_PREV, h);
    else this.tail[id] = h;
    this.head[id] = h;
    this.count[id]++;
  }

  unlink(id: number, h: number): void {
    const hdr = this.hdr;
    const prev = hdr.get(h, W_PREV);
    const next = hdr.get(h, W_NEXT);
    this.bridge(id, prev, next, next, prev);
    hdr.set(h, W_PREV, NIL);
    hdr.set(h, W_NEXT, NIL);
    this.count[id]--;
  }

  /**
   * Chunk n, already holding a copy of h with its links, takes h's place in list
   * `id`: the page mover moves an item to another chunk without changing its place.
   */
  replace(id: number, h: number, n: number): void {
    this.bridge(id, this.hdr.get(h, W_PREV), this.hdr.get(h, W_NEXT), n, n);
  }

  /** prev's NEXT (or the head) becomes toNext, next's PREV (or the tail) toPrev. */
  private bridge(id: number, prev: number, next: number, toNext: number, toPrev: number): void {
    if (prev !== NIL) this.hdr.set(prev, W_NEXT, toNext);
    else this.head[id] = toNext;
    if (next !== NIL) this.hdr.set(next, W_PREV, toPrev);
    else this.tail[id] = toPrev;
  }

  /** Items in all segments of a class. */
  classCount(cls: number): number {
    const b = cls * SEGMENTS;
    return this.count[b] + this.count[b + 1] + this.count[b + 2];
  }
}
