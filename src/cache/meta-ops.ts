/**
 * What the meta protocol needs from the engine beyond get/set/delete/arith:
 * stale-while-revalidate (invalidation marks an item ITEM_STALE; the first reader
 * after that, or after its TTL drops below a recache threshold, "wins" and others
 * are told a win was handed out), vivify-on-miss, explicit CAS values (E),
 * tombstones (md x), and stores that may land as stale (ms I with an old CAS).
 *
 * All state lives in the item header's it_flags (ITEM_STALE, ITEM_TOKEN_SENT,
 * ITEM_KEY_BINARY): no per-item JS objects. Built only on the Cache's public
 * members; the semantics are memcached's proto_text.c / do_store_item().
 */
import type { Cache } from './engine.js';
import { NIL } from './memory.js';
import { ITEM_KEY_BINARY, ITEM_STALE, ITEM_TOKEN_SENT, W_EXPTIME } from './item-header.js';
import type { StoreResult } from './results.js';
import { NREAD_ADD, NREAD_CAS, NREAD_SET, STORED, Status, StoreMode } from './status.js';

/** Reply flag bits from recacheFlags(). */
export const FLAG_Z = 1;
export const FLAG_X = 2;
export const FLAG_W = 4;

/**
 * Links an unlinked item from alloc() in place of any item with its key.
 * memcached links vivified items and tombstones without counting a set
 * (only complete_nread counts cmd_set), so the count store() made is taken back.
 */
function linkQuietly(cache: Cache, h: number, mode: StoreMode = 0): void {
  const cls = cache.classOf(h);
  // memcached links mg N's and md x's items directly (do_item_link, do_item_replace):
  // no lookup or store for watch to see. ma N stores with NREAD_ADD, and is seen.
  const logging = cache.logging;
  if (mode === 0) cache.logging = false;
  cache.store(h, mode === 0 ? NREAD_SET : mode);
  cache.logging = logging;
  cache.classCounters.cmd_set[cls]--;
}

/** E: the item takes the client's CAS instead of the one it was given. */
export function setCasIn(cache: Cache, h: number, cas: number): void {
  if (cache.hdr.useCas) cache.hdr.setCas(h, cas);
}

/**
 * mg N on a miss: an empty item with no TTL (mg's flags set it afterwards), or
 * NIL when memory can't be had (the client then sees a plain miss).
 */
export function vivify(cache: Cache, key: Uint8Array, ks: number, kl: number, hasCasIn: boolean, casIn: number): number {
  const h = cache.alloc(key, ks, kl, 0, 0, 0);
  if (h === NIL) return NIL;
  linkQuietly(cache, h);
  if (hasCasIn) setCasIn(cache, h, casIn);
  return h;
}

/** ma N on a miss: an item holding `initial` in decimal, no TTL yet. NIL on no memory. */
export function vivifyNumber(cache: Cache, key: Uint8Array, ks: number, kl: number, initial: bigint,
  hasCasIn: boolean, casIn: number): number {
  const digits = initial.toString();
  const h = cache.alloc(key, ks, kl, 0, 0, digits.length);
  if (h === NIL) return NIL;
  const u8 = cache.hdr.pageU8(h);
  const vs = cache.hdr.valueByte(h);
  for (let i = 0; i < digits.length; i++) u8[vs + i] = digits.charCodeAt(i);
  linkQuietly(cache, h, NREAD_ADD); // the key was just found missing: add stores it
  if (hasCasIn) setCasIn(cache, h, casIn);
  return h;
}

/**
 * md x: replaces the item by an empty one with the request's client flags and
 * TTL (rel_time), keeping its CAS unless E gives one. NIL on no memory.
 */
export function tombstone(cache: Cache, old: number, key: Uint8Array, ks: number, kl: number,
  clientFlags: number, exptime: number, hasCasIn: boolean, casIn: number): number {
  const cas = hasCasIn ? casIn : cache.cas(old);
  const binary = cache.hdr.itFlags(old) & ITEM_KEY_BINARY;
  const h = cache.alloc(key, ks, kl, clientFlags, 0, 0);
  if (h === NIL) return NIL;
  cache.hdr.set(h, W_EXPTIME, exptime);
  if (binary) cache.hdr.addItFlags(h, ITEM_KEY_BINARY);
  linkQuietly(cache, h);
  setCasIn(cache, h, cas);
  return h;
}

/**
 * md I: the item stays, marked stale with a new CAS (E's, if given) and
 * optionally a new TTL; the win token is cleared so the next reader wins.
 */
export function invalidate(cache: Cache, h: number, newTtl: boolean, exptime: number,
  hasCasIn: boolean, casIn: number): void {
  const hdr = cache.hdr;
  if (newTtl) hdr.set(h, W_EXPTIME, exptime);
  hdr.addItFlags(h, ITEM_STALE);
  hdr.clearItFlags(h, ITEM_TOKEN_SENT);
  setCasIn(cache, h, hasCasIn ? casIn : cache.nextCas());
}

/** mg R: a win when the TTL left is below the threshold and no win went out yet. */
export function recacheDue(cache: Cache, h: number, recacheTime: number): boolean {
  if (cache.hdr.itFlags(h) & ITEM_TOKEN_SENT) return false;
  const exp = cache.exptime(h);
  return exp !== 0 && exp < recacheTime;
}

/**
 * The flags an mg hit ends with, as FLAG_* bits: Z when a win went out before,
 * X when the item is stale (and the first stale reader wins), W for a win; a
 * win is recorded so that the next reader gets Z instead.
 */
export function recacheFlags(cache: Cache, h: number, won: boolean): number {
  const fl = cache.hdr.itFlags(h);
  let r = 0;
  if (fl & ITEM_TOKEN_SENT) r |= FLAG_Z;
  if (fl & ITEM_STALE) {
    r |= FLAG_X;
    if ((fl & ITEM_TOKEN_SENT) === 0) won = true;
  }
  if (won) {
    r |= FLAG_W;
    cache.hdr.addItFlags(h, ITEM_TOKEN_SENT);
  }
  return r;
}

export function keyIsBinary(cache: Cache, h: number): boolean {
  return (cache.hdr.itFlags(h) & ITEM_KEY_BINARY) !== 0;
}

/** ms b: remember the key came base64, so `k` answers base64 later. */
export function markKeyBinary(cache: Cache, h: number): void {
  cache.hdr.addItFlags(h, ITEM_KEY_BINARY);
}

/**
 * ms: store() plus memcached's meta rules. With invalidation (`I`) in CAS mode,
 * a CAS older than the item's still stores, but as a stale item that keeps the
 * old TTL and win token (do_store_item's CAS_STALE; counted as a cas hit). With
 * E the stored item takes that CAS. After STORED, res.item is the linked item.
 */
export function metaStore(cache: Cache, res: StoreResult, h: number, mode: StoreMode, cmpCas: number,
  setStale: boolean, hasCasIn: boolean, casIn: number, key: Uint8Array, ks: number, kl: number): Status {
  let staleExp = -1;
  let staleToken = 0;
  if (mode === NREAD_CAS && setStale && cmpCas !== 0) {
    const old = cache.peek(key, ks, kl);
    if (old !== NIL && cmpCas < cache.cas(old)) {
      staleExp = cache.exptime(old);
      staleToken = cache.hdr.itFlags(old) & ITEM_TOKEN_SENT;
      cmpCas = cache.cas(old);
    }
  }
  const st = cache.store(h, mode, cmpCas, res);
  if (st !== STORED) return st;
  const s = res.item; // h, or for append/prepend the joined item
  if (staleExp >= 0) {
    cache.hdr.set(s, W_EXPTIME, staleExp);
    cache.hdr.addItFlags(s, ITEM_STALE | staleToken);
  }
  if (hasCasIn) setCasIn(cache, s, casIn);
  return st;
}
