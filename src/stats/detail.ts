/**
 * `stats detail on|off|dump`: per key-prefix counters, as memcached's
 * stats_prefix.c keeps them. A key's prefix is everything before the first
 * prefix delimiter (-D, default ':'); keys without one are not counted.
 *
 * Protocol front ends call recordGet/recordSet/recordDelete for each key when
 * ctx.settings.detailEnabled is true (memcached only pays for this when asked, and
 * so do we: the prefix becomes a string here, never on the normal path).
 */
import type { ServerContext } from '../server-context.js';
import type { KeyHash } from '../cache/hash-index.js';

/** memcached's PREFIX_HASH_SIZE and MAX_PREFIX_COUNT. */
const PREFIX_HASH_SIZE = 256;
const MAX_PREFIX_COUNT = 1 << 16;

export interface PrefixEntry {
  prefix: string;
  bucket: number;
  seq: number;
  gets: number;
  hits: number;
  sets: number;
  deletes: number;
}

export class PrefixStats {
  private readonly byPrefix = new Map<string, PrefixEntry>();
  private seq = 0;

  /** `hash` is the engine's key hash: memcached buckets prefixes with the one -o hash_algorithm picked. */
  constructor(private readonly hash: KeyHash) {}

  /** The entry for key's prefix, created on first sight; null if the key has none. */
  find(delimiter: number, key: Uint8Array, start: number, len: number): PrefixEntry | null {
    let n = 0;
    // memcached stops at a NUL as well: the key is a C string there
    while (n < len && key[start + n] !== delimiter && key[start + n] !== 0) n++;
    if (n === len || key[start + n] !== delimiter) return null;
    const prefix = Buffer.from(key.buffer, key.byteOffset + start, n).toString('latin1');
    let e = this.byPrefix.get(prefix);
    if (e === undefined) {
      if (this.byPrefix.size >= MAX_PREFIX_COUNT) return null;
      e = {
        prefix, bucket: (this.hash(key, start, n) >>> 0) % PREFIX_HASH_SIZE, seq: this.seq++,
        gets: 0, hits: 0, sets: 0, deletes: 0,
      };
      this.byPrefix.set(prefix, e);
    }
    return e;
  }

  clear(): void {
    this.byPrefix.clear();
  }

  /** Every prefix's counters (worker threads merge theirs with dumpOf()). */
  entries(): PrefixEntry[] {
    return [...this.byPrefix.values()];
  }

  /**
   * The reply memcached sends for `stats detail dump`, END included. Order is
   * memcached's: hash bucket by bucket, newest prefix first within a bucket.
   */
  dump(): string {
    return dumpOf(this.entries());
  }
}

/**
 * `stats detail dump` over several threads' entries: each prefix's counters summed
 * (its first sighting on any thread places it, as seq numbers are per thread).
 */
export function dumpOf(entries: readonly PrefixEntry[]): string {
  const merged = new Map<string, PrefixEntry>();
  for (const e of entries) {
    const m = merged.get(e.prefix);
    if (m === undefined) merged.set(e.prefix, { ...e });
    else {
      m.gets += e.gets;
      m.hits += e.hits;
      m.sets += e.sets;
      m.deletes += e.deletes;
      m.seq = Math.min(m.seq, e.seq);
    }
  }
  const all = [...merged.values()].sort((a, b) => a.bucket - b.bucket || b.seq - a.seq);
  let out = '';
  for (const e of all) out += `PREFIX ${e.prefix} get ${e.gets} hit ${e.hits} set ${e.sets} del ${e.deletes}\r\n`;
  return out + 'END\r\n';
}

function delimiterOf(ctx: ServerContext): number {
  return ctx.settings.prefixDelimiter.charCodeAt(0) & 0xff;
}

/** A get/gets/gat of one key (hit or miss), when detail is on. */
export function recordGet(ctx: ServerContext, key: Uint8Array, start: number, len: number, hit: boolean): void {
  if (!ctx.settings.detailEnabled) return;
  const e = ctx.stats.prefix.find(delimiterOf(ctx), key, start, len);
  if (e === null) return;
  e.gets++;
  if (hit) e.hits++;
}

/** A set/add/replace/append/prepend/cas of one key, when detail is on. */
export function recordSet(ctx: ServerContext, key: Uint8Array, start: number, len: number): void {
  if (!ctx.settings.detailEnabled) return;
  const e = ctx.stats.prefix.find(delimiterOf(ctx), key, start, len);
  if (e !== null) e.sets++;
}

/** A delete of one key, when detail is on. */
export function recordDelete(ctx: ServerContext, key: Uint8Array, start: number, len: number): void {
  if (!ctx.settings.detailEnabled) return;
  const e = ctx.stats.prefix.find(delimiterOf(ctx), key, start, len);
  if (e !== null) e.deletes++;
}

