/**
 * Loading a warm-restart snapshot (layout in snapshot-format.ts) into a fresh
 * engine, before the daemon accepts its first connection.
 *
 * The meta file is read first and checked as memcached checks it: a missing file is
 * a clean start, a setting that differs is a clean start with memcached's lines. The
 * data file is then streamed page by page straight into the arenas (never the
 * whole file in memory beside them) while its sum is taken; the tables are held
 * aside until the sum checks, and only then does the engine take them. Any doubt
 * (short file, wrong sum, a table that does not fit) gives a clean start and one
 * line saying why; the caller then drops this engine and builds another.
 *
 * Once the daemon serves, consumeSnapshot() removes both files (and the temporaries
 * of a save that was killed part way), whatever the load's
 * outcome, as memcached removes its meta file: the cache moves on from there, and a
 * later crash must not bring back this old state. A start that fails before it
 * serves (a port in use) leaves them for the next attempt.
 */
import fs from 'node:fs';
import type { ResumableClock } from './clock.js';
import type { Cache } from './engine.js';
import { MAX_MEMORY_BYTES, PAGE_SIZE } from './memory.js';
import {
  ITEM_CHUNK, ITEM_LINKED, ITEM_SLABBED, W_EXPTIME, W_META,
} from './item-header.js';
import { SEGMENTS } from './lru.js';
import { HASHPOWER_MAX } from './hash-index.js';
import {
  BYTE_ORDER_MARK, Crc32, FILE_HEADER_BYTES, FORMAT_VERSION, KIND_F64, KIND_U32, KIND_U8, MAGIC,
  META_SUFFIX, TAG_MAIN, TAG_OURS, TMP_SUFFIX, parseMeta, settingLines, type SnapshotSettings,
} from './snapshot-format.js';

export interface LoadReport {
  /** the engine now holds the snapshot's items */
  restored: boolean;
  /** the engine was changed: without `restored`, the caller must build a fresh one */
  touched: boolean;
  /** memcached-style `[restart] ...` lines, for the log; `warn` ones show at any verbosity */
  lines: { level: 'warn' | 'info'; text: string }[];
  items: number;
  bytes: number;
  ms: number;
}

/** A loaded data file's name while it is being unlinked. */
const LOADED_SUFFIX = '.loaded';

/** memcached's closing line when the metadata does not fit this start. */
const FAILED = '[restart] failed to validate metadata, starting with a clean cache';

class Corrupt extends Error {}

/** Page reads in flight: libuv's threads copy the next pages in while this thread sums one. */
const READS_IN_FLIGHT = 4;
function readAt(fd: number, b: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, b, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Sequential reads from one fd, summed as they go; a short read is a Corrupt. */
class SumReader {
  readonly crc = new Crc32();
  pos = 0;
  constructor(private readonly fd: number, readonly size: number) {}

  readInto(b: Uint8Array): void {
    if (this.pos + b.length > this.size) throw new Corrupt(`it ends at byte ${this.size}, before its last page`);
    let off = 0;
    while (off < b.length) {
      const n = fs.readSync(this.fd, b, off, b.length - off, this.pos + off);
      if (n === 0) throw new Corrupt(`it ends at byte ${this.pos + off}, before its last page`);
      off += n;
    }
    this.pos += b.length;
    this.crc.update(b);
  }

  /** Fills each buffer in turn from the file, summing each while later ones are read. */
  async readAll(bufs: readonly Uint8Array[]): Promise<void> {
    const pending: Promise<void>[] = [];
    let at = this.pos;
    let next = 0;
    const issue = (): void => {
      const b = bufs[next++];
      const p = this.readWhole(b, at);
      p.catch(() => {}); // awaited below; an early failure must not go unhandled meanwhile
      pending.push(p);
      at += b.length;
    };
    while (next < bufs.length && pending.length < READS_IN_FLIGHT) issue();
    try {
      for (const b of bufs) {
        await pending.shift();
        if (next < bufs.length) issue();
        this.crc.update(b);
        this.pos += b.length;
      }
    } catch (e) {
      // no read may outlive the fd: the caller closes it, and its number may be reused
      await Promise.allSettled(pending);
      throw e;
    }
  }

  private async readWhole(b: Uint8Array, at: number): Promise<void> {
    if (at + b.length > this.size) throw new Corrupt(`it ends at byte ${this.size}, before its last page`);
    let off = 0;
    while (off < b.length) {
      const bytesRead = await readAt(this.fd, b, off, b.length - off, at + off);
      if (bytesRead === 0) throw new Corrupt(`it ends at byte ${at + off}, before its last page`);
      off += bytesRead;
    }
  }

  /** The next section, which must be of `kind` with at most `max` elements (exactly `exact` if given). */
  section(kind: 1, max: number, exact?: number): Uint8Array;
  section(kind: 4, max: number, exact?: number): Uint32Array;
  section(kind: 8, max: number, exact?: number): Float64Array;
  section(kind: number, max: number, exact = -1): Uint8Array | Uint32Array | Float64Array {
    const head = new Uint32Array(2);
    this.readInto(new Uint8Array(head.buffer));
    const count = head[1];
    if (head[0] !== kind || count > max || (exact >= 0 && count !== exact)) {
      throw new Corrupt(`a table at byte ${this.pos - 8} is not what this engine keeps there`);
    }
    const bytes = kind * count;
    if (this.pos + bytes > this.size) throw new Corrupt(`it ends at byte ${this.size}, inside its tables`);
    const arr = kind === KIND_U8 ? new Uint8Array(count) : kind === KIND_U32 ? new Uint32Array(count) : new Float64Array(count);
    this.readInto(new Uint8Array(arr.buffer));
    const pad = (8 - (bytes % 8)) % 8;
    if (pad > 0) this.readInto(new Uint8Array(pad));
    return arr;
  }
}

function num(kv: Map<string, string>, key: string): number {
  const v = Number(kv.get(key));
  if (!Number.isSafeInteger(v) || v < 0) throw new Corrupt(`${key} is not a number`);
  return v;
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // a read-only directory: the next save replaces them
  }
}

/**
 * Removes a snapshot once the daemon that read it serves. The meta file goes at
 * once; the data file, which may take a while to unlink, is renamed aside and
 * unlinked in the background, so that a save soon after cannot lose its file to it.
 */
export function consumeSnapshot(file: string): void {
  removeQuietly(file + META_SUFFIX);
  // a save killed part way (systemd's stop timeout) leaves its temporaries, as big
  // as the cache: nothing will ever read them
  removeQuietly(file + TMP_SUFFIX);
  removeQuietly(file + META_SUFFIX + TMP_SUFFIX);
  const doomed = file + LOADED_SUFFIX;
  try {
    fs.renameSync(file, doomed);
    fs.rm(doomed, { force: true }, () => {});
  } catch {
    // gone already, or a read-only directory
  }
}

/**
 * Restores `file` (and `file.meta`) into `cache`, a freshly built engine with
 * nothing stored, and resumes `clock` (the engine's) from the saved one. Runs
 * before any other thread attaches: the pages stream in over many turns.
 */
export async function loadSnapshot(cache: Cache, clock: ResumableClock, file: string, settings: SnapshotSettings): Promise<LoadReport> {
  const started = performance.now();
  const report: LoadReport = { restored: false, touched: false, lines: [], items: 0, bytes: 0, ms: 0 };
  const warn = (text: string): void => {
    report.lines.push({ level: 'warn', text });
  };
  const metaFile = file + META_SUFFIX;
  let metaBytes: Buffer;
  try {
    metaBytes = fs.readFileSync(metaFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    warn(code === 'ENOENT'
      ? '[restart] no metadata save file, starting with a clean cache'
      : `[restart] cannot read ${metaFile} (${code ?? (e as Error).message}), starting with a clean cache`);
    return report;
  }
  try {
    const parsed = parseMeta(metaBytes);
    if (!parsed.ok) {
      warn(`[restart] corrupt metadata file ${metaFile} (${parsed.why}), starting with a clean cache`);
      return report;
    }
    const main = parsed.sections.get(TAG_MAIN);
    const ours = parsed.sections.get(TAG_OURS);
    if (main === undefined || ours === undefined) {
      warn('[restart] missing some metadata lines');
      warn(FAILED);
      return report;
    }
    for (const [key, value] of settingLines(settings, PAGE_SIZE)) {
      const old = main.get(key);
      if (old === undefined) {
        warn('[restart] missing some metadata lines');
        warn(FAILED);
        return report;
      }
      if (old !== value) {
        // memcached's three lines, word for word: it stops reading at the first mismatch
        warn(`[restart] restart incompatible due to setting for [${key}] [old value: ${old}]`);
        warn('[restart] missing some metadata lines');
        warn(FAILED);
        return report;
      }
    }
    if (ours.get('format') !== String(FORMAT_VERSION)) {
      warn(`[restart] snapshot ${file} has format ${ours.get('format') ?? '(none)'}, this daemon reads ${FORMAT_VERSION}; starting with a clean cache`);
      return report;
    }
    if (ours.get('hash') !== cache.hashName) {
      warn(`[restart] snapshot ${file} was indexed with hash ${ours.get('hash') ?? '(none)'}, this daemon uses ${cache.hashName}; starting with a clean cache`);
      return report;
    }
    report.touched = true;
    await loadData(cache, file, main, ours);
    clock.resume(num(main, 'process_started'), num(main, 'current_time'));
    cache.casId = num(main, 'current_cas');
    cache.oldestCas = num(main, 'oldest_cas');
    cache.oldestLive = num(main, 'oldest_live');
    report.items = reviveItems(cache);
    report.bytes = num(ours, 'data_bytes');
    report.restored = true;
    report.ms = performance.now() - started;
    report.lines.push({
      level: 'info',
      text: `[restart] restored ${report.items} items (${(report.bytes / 1048576).toFixed(1)} MB) from ${file} in ${report.ms.toFixed(0)} ms`,
    });
    return report;
  } catch (e) {
    const why = e instanceof Corrupt ? e.message : (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is missing' : (e as Error).message;
    warn(`[restart] snapshot ${file} not used: ${why}; starting with a clean cache`);
    return report;
  }
}

/** Streams the data file into the engine: pages into the arenas, tables aside until the sum checks. */
async function loadData(cache: Cache, file: string, main: Map<string, string>, ours: Map<string, string>): Promise<void> {
  const { mem, slabs, lru, index } = cache;
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const want = num(ours, 'data_bytes');
    if (size !== want) throw new Corrupt(size < want ? `it is truncated (${size} of ${want} bytes)` : `it is ${size} bytes, not ${want}`);
    const r = new SumReader(fd, size);
    const head = Buffer.alloc(FILE_HEADER_BYTES);
    r.readInto(head);
    if (!head.subarray(0, 8).equals(MAGIC) || head.readUInt32LE(8) !== FORMAT_VERSION
      || new Uint32Array(head.buffer, head.byteOffset + 12, 1)[0] !== BYTE_ORDER_MARK) {
      throw new Corrupt('it is not a snapshot this daemon wrote');
    }
    const maxPages = MAX_MEMORY_BYTES / PAGE_SIZE + 64;
    const largest = slabs.largest;
    const n = largest + 1;
    const basics = r.section(KIND_F64, 5, 5);
    const [reservedPages, arenaNext, pagesInUse, savedLargest, hashpower] = basics;
    if (savedLargest !== largest || !Number.isInteger(reservedPages) || !Number.isInteger(arenaNext)
      || reservedPages > Math.min(maxPages, mem.limitPages + n) || arenaNext > reservedPages + 1
      || hashpower > HASHPOWER_MAX || hashpower !== num(main, 'hashpower')) {
      throw new Corrupt('its slab classes or memory are not this engine\'s');
    }
    const spare = r.section(KIND_U32, reservedPages);
    const classes = r.section(KIND_U8, reservedPages + 1, reservedPages + 1);
    const pages: Uint32Array[] = [];
    for (let c = 0; c < n; c++) pages.push(r.section(KIND_U32, reservedPages));
    const freeHead = r.section(KIND_U32, n, n);
    const freeCount = r.section(KIND_F64, n, n);
    const totalPages = r.section(KIND_F64, n, n);
    const usedChunks = r.section(KIND_F64, n, n);
    const carveNext = r.section(KIND_U32, n, n);
    const carveLeft = r.section(KIND_F64, n, n);
    const lists = n * SEGMENTS;
    const head0 = r.section(KIND_U32, lists, lists);
    const tail0 = r.section(KIND_U32, lists, lists);
    const count0 = r.section(KIND_F64, lists, lists);
    const buckets = r.section(KIND_U32, 2 ** hashpower, 2 ** hashpower);
    const [pageCount] = r.section(KIND_F64, 1, 1);
    let assigned = 0;
    for (let p = 1; p <= reservedPages; p++) if (classes[p] !== 0) assigned++;
    if (assigned !== pageCount || classes[0] !== 0) throw new Corrupt('its page table does not add up');
    mem.restoreLayout({ reservedPages, arenaNext, pagesInUse, spare: Array.from(spare) });
    const into: Uint8Array[] = [];
    for (let p = 1; p <= reservedPages; p++) if (classes[p] !== 0) into.push(mem.u8[p]);
    await r.readAll(into);
    if (r.pos !== size) throw new Corrupt(`${size - r.pos} bytes follow its last page`);
    if (r.crc.hex() !== ours.get('data_crc32')) throw new Corrupt('its checksum does not match (the file was changed or damaged)');
    // the sum checks: the engine takes the tables
    slabs.pageClass.set(classes);
    for (let c = 0; c < n; c++) slabs.pageList.set(c, pages[c]);
    slabs.freeHead.set(freeHead);
    slabs.freeCount.set(freeCount);
    slabs.totalPages.set(totalPages);
    slabs.usedChunks.set(usedChunks);
    slabs.carveNext.set(carveNext);
    slabs.carveLeft.set(carveLeft);
    lru.head.set(head0);
    lru.tail.set(tail0);
    lru.count.set(count0);
    index.restoreTable(hashpower, buckets);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Walks every carved chunk, page by page (memcached's restart_fixup walk): counts
 * the linked items back into the stats, drops those that expired or were flushed
 * while we were down, clears pins held by connections that are gone, and frees
 * items that were never stored (an upload cut by the stop). Returns the items kept.
 */
function reviveItems(cache: Cache): number {
  const { slabs, hdr, counters, classCounters, index } = cache;
  const now = cache.clock.now;
  const dead: number[] = [];
  for (let cls = 1; cls <= slabs.largest; cls++) {
    for (const page of slabs.pageList.of(cls)) {
      const carved = slabs.carvedIn(page, cls);
      for (let i = 0; i < carved; i++) {
        const h = slabs.chunkHandle(page, cls, i);
        const fl = (hdr.get(h, W_META) >>> 8) & 0xffff;
        if (fl & (ITEM_SLABBED | ITEM_CHUNK)) continue; // free, or part of a chained value
        hdr.setRefcount(h, 0);
        if ((fl & ITEM_LINKED) === 0) {
          cache.release(h);
          continue;
        }
        const size = cache.itemSize(h);
        counters.curr_items++;
        counters.bytes += size;
        classCounters.mem_requested[cls] += size;
        index.items++;
        const exp = hdr.get(h, W_EXPTIME);
        if ((exp !== 0 && exp <= now) || cache.isFlushed(h)) dead.push(h);
      }
    }
  }
  // after the walk: unlinking frees chunks, and a freed chained value's pieces
  // must not be taken for live ones later in the same walk
  for (const h of dead) cache.unlink(h, cache.hash(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h)));
  counters.total_items = counters.curr_items;
  return counters.curr_items;
}
