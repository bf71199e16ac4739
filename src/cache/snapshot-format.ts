/**
 * The warm-restart snapshot on disk: what `-e PATH` writes at a graceful stop and
 * reads at start. Two files, as memcached has them:
 *
 *   PATH.meta   memcached's metadata text: `T<tag>` lines open a section, `K<key> <value>`
 *               lines fill it. Section `main` has memcached's own keys (settings that must
 *               match, the clock, the CAS counter, flush_all state); section `slabcache`
 *               has the format version, the key hash the buckets were built with, and
 *               how big the data file is and what it sums to. The last line,
 *               `Kmeta_crc32`, sums every byte before it.
 *   PATH        the engine, binary, native byte order (checked by BYTE_ORDER_MARK):
 *
 *     MAGIC (8) | FORMAT_VERSION u32 | BYTE_ORDER_MARK u32
 *     sections, each: kind u32 | count u32 | count elements | zero pad to 8 bytes
 *       f64  [reservedPages, arenaNext, pagesInUse, largest class, hashpower]
 *       u32  spare pages
 *       u8   page -> class (0: not handed out), reservedPages + 1 entries
 *       u32  pages of class c, in the order the class got them (one section per class 0..largest)
 *       u32 freeHead, f64 freeCount, f64 totalPages, f64 usedChunks, u32 carveNext, f64 carveLeft
 *       u32 LRU heads, u32 LRU tails, f64 LRU counts (class * 3 + segment)
 *       u32  hash buckets, 2^hashpower of them
 *       f64  [page count]
 *     then every page handed out to a class, in page id order, PAGE_SIZE bytes each
 *
 * Item bytes, with every link (hash chain, LRU, free list, value chain), are the
 * pages themselves: handles are page ids and offsets, so nothing needs fixing up.
 * `data_crc32` in the meta file sums the whole data file, so a torn, truncated or
 * foreign file is never loaded.
 */
import zlib from 'node:zlib';

export const META_SUFFIX = '.meta';
/** Where a save writes before it renames: a crash mid-save leaves no torn snapshot. */
export const TMP_SUFFIX = '.tmp';
export const MAGIC = Buffer.from('SLABSNAP', 'latin1');
export const FORMAT_VERSION = 1;
/** Reads back as this number only on a machine of the same byte order. */
export const BYTE_ORDER_MARK = 0x01020304;
export const FILE_HEADER_BYTES = 16;

/** Element kinds of a data file section. */
export const KIND_U8 = 1;
export const KIND_U32 = 4;
export const KIND_F64 = 8;

/** memcached's metadata section, and ours. */
export const TAG_MAIN = 'main';
export const TAG_OURS = 'slabcache';
export const META_CRC_KEY = 'meta_crc32';

/** The settings a snapshot depends on (a Settings object fits). */
export interface SnapshotSettings {
  maxbytes: number;
  itemSizeMax: number;
  growthFactor: number;
  slabSizes: readonly number[] | null;
  chunkSize: number;
  slabChunkMax: number;
  slabPageSize: number;
  useCas: boolean;
  slabReassign: boolean;
}

/**
 * memcached's settings checks, in its order and under its names: a restart with any
 * of these changed starts clean (`restart incompatible due to setting for [...]`).
 */
export function settingLines(s: SnapshotSettings, pageSize: number): [string, string][] {
  return [
    ['slab_config', s.slabSizes !== null ? s.slabSizes.join('-') : String(s.growthFactor)],
    ['maxbytes', String(s.maxbytes)],
    ['chunk_size', String(s.chunkSize)],
    ['item_size_max', String(s.itemSizeMax)],
    ['slab_chunk_size_max', String(s.slabChunkMax)],
    ['slab_page_size', String(pageSize)],
    ['use_cas', s.useCas ? 'true' : 'false'],
    ['slab_reassign', s.slabReassign ? 'true' : 'false'],
  ];
}

/** CRC-32 (zlib's): native speed on both Node lines we run on, and a torn file never sums right. */
export class Crc32 {
  value = 0;
  update(bytes: Uint8Array): void {
    // Node 20's crc32 of a view over an empty ArrayBuffer returns 0, not the running
    // value, which would drop everything summed so far
    if (bytes.length === 0) return;
    this.value = zlib.crc32(bytes, this.value);
  }
  hex(): string {
    return this.value.toString(16).padStart(8, '0');
  }
}

export function crc32Hex(bytes: Uint8Array): string {
  const c = new Crc32();
  c.update(bytes);
  return c.hex();
}

export type MetaSections = Map<string, Map<string, string>>;

/** The meta file's text: the sections in order, then the line that sums them. */
export function encodeMeta(sections: readonly [string, readonly [string, string][]][]): string {
  let text = '';
  for (const [tag, kv] of sections) {
    text += `T${tag}\n`;
    for (const [k, v] of kv) text += `K${k} ${v}\n`;
  }
  return `${text}K${META_CRC_KEY} ${crc32Hex(Buffer.from(text, 'latin1'))}\n`;
}

export type MetaParse = { ok: true; sections: MetaSections } | { ok: false; why: string };

/** Parses and checks a meta file: its last line must sum everything before it. */
export function parseMeta(bytes: Buffer): MetaParse {
  const text = bytes.toString('latin1');
  const last = text.lastIndexOf(`K${META_CRC_KEY} `);
  if (last < 0 || !text.endsWith('\n') || text.indexOf('\n', last) !== text.length - 1) {
    return { ok: false, why: 'no checksum line' };
  }
  const want = text.slice(last + META_CRC_KEY.length + 2, -1);
  if (crc32Hex(bytes.subarray(0, last)) !== want) return { ok: false, why: 'checksum mismatch' };
  const sections: MetaSections = new Map();
  let cur: Map<string, string> | null = null;
  for (const line of text.slice(0, last).split('\n')) {
    if (line === '') continue;
    if (line[0] === 'T') {
      cur = new Map();
      sections.set(line.slice(1), cur);
    } else if (line[0] === 'K' && cur !== null) {
      const sp = line.indexOf(' ');
      if (sp < 0) return { ok: false, why: `bad line ${JSON.stringify(line)}` };
      cur.set(line.slice(1, sp), line.slice(sp + 1));
    } else {
      return { ok: false, why: `bad line ${JSON.stringify(line)}` };
    }
  }
  return { ok: true, sections };
}

/** Bytes a section takes in the data file, padding included. */
export function sectionBytes(kind: number, count: number): number {
  return 8 + Math.ceil((kind * count) / 8) * 8;
}
