/**
 * The engine's one outward hook: what memcached's items.c hands its logger
 * (LOGGER_ITEM_GET in do_item_get, LOGGER_ITEM_STORE in do_store_item,
 * LOGGER_EVICTION in lru_pull_tail; LOGGER_SLAB_MOVE when slab_automove picks a
 * page to move). The engine calls it only while
 * `Cache.logging` is true, so with nobody listening each call site costs one
 * boolean test. Whoever implements it (the `watch` machinery) decides what is
 * wanted and who asked; the engine knows nothing of connections.
 *
 * Keys are passed as (bytes, start, length), valid only during the call.
 */

/** do_item_get's was_found: how a lookup ended. */
export const GET_NOT_FOUND = 0;
export const GET_FOUND = 1;
export const GET_FLUSHED = 2;
export const GET_EXPIRED = 3;

export interface ItemLog {
  /** A key lookup (every get, touch, delete, arith and store looks first). nbytes: value length, 0 unless found. */
  itemGet(key: Uint8Array, ks: number, kl: number, wasFound: number, clsid: number, nbytes: number): void;
  /**
   * A store ended. status: status.ts; mode: NREAD_*; nbytes: value length of the
   * item stored (or refused); ttl: memcached's `exptime - current_time` as an
   * unsigned 32-bit number, 0 for no expiry.
   */
  itemStore(key: Uint8Array, ks: number, kl: number, status: number, mode: number, nbytes: number,
    ttl: number, clsid: number): void;
  /** The LRU tail was evicted. ttl: seconds left, -1 for none; la: seconds since last access. */
  eviction(key: Uint8Array, ks: number, kl: number, fetched: boolean, ttl: number, la: number,
    clsid: number, nbytes: number): void;
  /** slab_automove chose to move a page from class src (-1: any) to dst (0: the global pool). */
  slabMove(src: number, dst: number): void;
}
