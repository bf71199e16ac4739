/**
 * Rules between flags, checked once every flag is read and in memcached's order: item
 * size against -m and slab_chunk_max, LRU percentages, SASL and ascii auth against -B
 * and -U, -Z against -p, -l entries against the server's own parser, hashpower against
 * the item lock table, and `-o slab_sizes`. A broken rule blames the flag the user gave
 * (see blame() below) with memcached's wording.
 */
import { MB, type Settings } from '../config.js';
import { parseListenAddress } from '../server/listen-tls.js';
import { CliError, EX_OSERR, EX_USAGE } from './cli-error.js';
import type { FlagSpec } from './flag-table.js';
import { BY_SHORT, keyOf } from './getopt.js';
import { bad, type ParseState, toInt } from './flag-values.js';

/** Item lock table size memcached derives from -t (thread.c); -o hashpower must exceed it. */
function itemLockHashpower(threads: number): number {
  if (threads < 3) return 10;
  if (threads < 4) return 11;
  if (threads < 5) return 12;
  if (threads <= 10) return 13;
  if (threads <= 20) return 14;
  return 15;
}

const CHUNK_ALIGN_BYTES = 8;
const MAX_NUMBER_OF_SLAB_CLASSES = 64;
const ITEM_SIZE_MAX_LOWER_LIMIT = 1024;
const ITEM_SIZE_MAX_UPPER_LIMIT = 1024 * MB;

/** Rules between flags, checked in memcached's order once every flag is read. */
export function crossChecks(st: ParseState, lastRaw: ReadonlyMap<string, string>): void {
  const s = st.s;
  const flag = (short: string): FlagSpec => BY_SHORT.get(short) as FlagSpec;
  const given = (short: string): boolean => st.given.has(keyOf(flag(short)));
  /**
   * name the flag when the user gave it; a rule broken by defaults alone just says why.
   * memcached checks these after getopt and exits EX_USAGE, except where it says otherwise.
   */
  const blame = (short: string, why: string, exitCode = EX_USAGE): CliError => {
    const f = flag(short);
    if (!given(short)) return new CliError(why, null, exitCode);
    const raw = f.kind !== 'value' || short === 'o' || short === 'l' ? null : lastRaw.get(short) ?? null;
    return bad(f, raw, why, exitCode);
  };
  /** the item size rules blame -I if it was given, else -m */
  const sizeFlag = given('I') || !given('m') ? 'I' : 'm';

  if (s.napiIds > 0 && s.napiIds > s.numThreads) {
    throw blame('N', `Number of napi_ids(${s.napiIds}) cannot be greater than number of threads(${s.numThreads})`);
  }
  if (s.itemSizeMax < ITEM_SIZE_MAX_LOWER_LIMIT) {
    throw blame('I', 'Item max size cannot be less than 1024 bytes.');
  }
  if (s.itemSizeMax > s.maxbytes / 2) {
    throw blame(sizeFlag, 'Cannot set item size limit higher than 1/2 of memory max.');
  }
  if (s.itemSizeMax > ITEM_SIZE_MAX_UPPER_LIMIT) {
    throw blame('I', 'Cannot set item size limit higher than a gigabyte.');
  }
  if (s.itemSizeMax > MB && !st.slabChunkChanged) {
    // memcached: with pages of 1 MB, bigger items are chained from half-page chunks
    s.slabChunkMax = s.slabPageSize / 2;
  }
  const chunkFlag = st.slabChunkChanged ? 'o' : 'I';
  if (s.slabChunkMax > s.itemSizeMax) {
    throw blame(chunkFlag, `slab_chunk_max (bytes: ${s.slabChunkMax}) cannot be larger than -I (item_size_max ${s.itemSizeMax})`);
  }
  if (s.itemSizeMax % s.slabChunkMax !== 0) {
    throw blame(chunkFlag, `-I (item_size_max: ${s.itemSizeMax}) must be evenly divisible by slab_chunk_max (bytes: ${s.slabChunkMax})`);
  }
  if (s.slabPageSize % s.slabChunkMax !== 0) {
    throw blame('o', `slab_chunk_max (bytes: ${s.slabChunkMax}) must divide evenly into ${s.slabPageSize} (slab_page_size)`);
  }
  if (st.slabSizesRaw !== null) s.slabSizes = parseSlabSizes(st.slabSizesRaw, s);
  if (s.hotLruPct + s.warmLruPct > 80) {
    throw blame('o', 'hot_lru_pct + warm_lru_pct cannot be more than 80% combined');
  }
  if (s.tempLru && !s.lruMaintainer) {
    throw blame('o', 'temporary_ttl requires lru_maintainer to be enabled');
  }
  if (s.sasl) {
    if (!st.protocolGiven) s.protocol = 'binary';
    else if (s.protocol !== 'binary') throw blame('S', 'ERROR: You cannot allow the ASCII protocol while using SASL.');
    if (s.udpport !== 0) throw blame('S', 'ERROR: Cannot enable UDP while using binary SASL authentication.');
  }
  if (s.authFile !== null) {
    if (!st.protocolGiven) s.protocol = 'ascii';
    else if (s.protocol !== 'ascii') {
      throw blame('Y', 'ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.');
    }
    if (s.udpport !== 0) throw blame('Y', 'Cannot use UDP with ascii authentication enabled (-U 0 to disable)');
  }
  if (given('U') && !given('p')) {
    // memcached: a UDP port given alone moves TCP to the same port
    s.port = s.udpport;
  }
  if (s.ssl && s.port === 0) throw blame('Z', 'ERROR: You cannot enable SSL without a TCP port.');
  if (given('l')) {
    const l = flag('l');
    for (const entry of s.interfaces) {
      try {
        parseListenAddress(entry, s.port, s.ssl);
      } catch (err) {
        throw bad(l, entry, (err as Error).message, EX_OSERR);
      }
      if (entry.replace(/^notls:/, '') === '') throw bad(l, entry, 'no interface given (use * for all interfaces)', EX_OSERR);
    }
  }
  if (s.hashpowerInit !== 0) {
    const lock = itemLockHashpower(s.numThreads);
    if (lock >= s.hashpowerInit) {
      // memcached checks this while it reads -o, so it exits 1 here, not EX_USAGE
      throw blame('o', `Hash table power size (${s.hashpowerInit}) cannot be equal to or less than item lock table (${lock}); the item lock table grows with -t, the hash table with -o hashpower=N`, 1);
    }
  }
}

/** `-o slab_sizes=a-b-c`, checked as memcached's _parse_slab_sizes() does. */
function parseSlabSizes(raw: string, s: Settings): number[] {
  const sizes: number[] = [];
  let lastSize = 0;
  const o = BY_SHORT.get('o') as FlagSpec;
  for (const part of raw.split('-').filter((x) => x !== '')) {
    const n = toInt(part);
    const size = n === null ? 0 : n;
    if (n === null || size < s.chunkSize || size > s.slabChunkMax) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} is out of valid range`, EX_USAGE);
    }
    if (lastSize >= size) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} cannot be lower than or equal to a previous class size`, EX_USAGE);
    }
    if (size <= lastSize + CHUNK_ALIGN_BYTES) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} must be at least ${CHUNK_ALIGN_BYTES} bytes larger than previous class`, EX_USAGE);
    }
    sizes.push(size);
    lastSize = size;
    if (sizes.length >= MAX_NUMBER_OF_SLAB_CLASSES - 1) {
      throw bad(o, `slab_sizes=${raw}`, 'too many slab classes specified', EX_USAGE);
    }
  }
  if (sizes.length === 0) throw bad(o, `slab_sizes=${raw}`, 'slab size 0 is out of valid range', EX_USAGE);
  return sizes;
}
