/**
 * Saving the engine for a warm restart (layout in snapshot-format.ts). Runs once,
 * at a graceful stop, after every connection is closed and the background jobs have
 * stopped, so nothing moves while it writes.
 *
 * Pages go from the arenas to the file as they are (no copy), summed on the way.
 * Both files are written under a temporary name, synced, then renamed, old meta
 * first out of the way: a crash at any point leaves a whole snapshot or none, on any
 * file system, never one whose parts disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Cache } from './engine.js';
import { PAGE_SIZE } from './memory.js';
import {
  BYTE_ORDER_MARK, Crc32, FILE_HEADER_BYTES, FORMAT_VERSION, KIND_F64, KIND_U32, KIND_U8, MAGIC,
  META_SUFFIX, TAG_MAIN, TAG_OURS, TMP_SUFFIX, encodeMeta, settingLines, type SnapshotSettings,
} from './snapshot-format.js';

export interface SaveReport {
  items: number;
  pages: number;
  bytes: number;
  ms: number;
}

const PAD = new Uint8Array(8);
/** Page writes in flight: the disk (libuv's threads) takes one while this thread sums the next. */
const WRITES_IN_FLIGHT = 4;
function writeAt(fd: number, b: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, b, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Sequential writes to one fd, summed as they go. */
class SumWriter {
  readonly crc = new Crc32();
  bytes = 0;
  constructor(private readonly fd: number) {}

  write(b: Uint8Array): void {
    this.crc.update(b);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off, this.bytes + off);
    this.bytes += b.length;
  }

  /** Buffers written in order, each summed here while earlier ones are still being written. */
  async writeAll(bufs: Iterable<Uint8Array>): Promise<void> {
    const pending: Promise<void>[] = [];
    try {
      for (const b of bufs) {
        this.crc.update(b);
        const p = this.writeWhole(b, this.bytes);
        p.catch(() => {}); // awaited below; an early failure must not go unhandled meanwhile
        pending.push(p);
        this.bytes += b.length;
        if (pending.length >= WRITES_IN_FLIGHT) await pending.shift();
      }
      while (pending.length > 0) await pending.shift();
    } catch (e) {
      // no write may outlive the fd: it is closed next, and its number may be reused
      await Promise.allSettled(pending);
      throw e;
    }
  }

  private async writeWhole(b: Uint8Array, at: number): Promise<void> {
    let off = 0;
    while (off < b.length) off += await writeAt(this.fd, b, off, b.length - off, at + off);
  }

  section(kind: number, arr: Uint8Array | Uint32Array | Float64Array | readonly number[]): void {
    const typed = Array.isArray(arr)
      ? (kind === KIND_U32 ? Uint32Array.from(arr) : Float64Array.from(arr))
      : arr as Uint8Array | Uint32Array | Float64Array;
    const head = new Uint32Array([kind, typed.length]);
    this.write(new Uint8Array(head.buffer));
    const body = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    this.write(body);
    const pad = (8 - (body.length % 8)) % 8;
    if (pad > 0) this.write(PAD.subarray(0, pad));
  }
}

/** Writes, syncs and closes `file`; on failure removes it, so that a full disk keeps nothing half written. */
async function writeFileSynced(file: string, fill: (w: SumWriter) => void | Promise<void>): Promise<SumWriter> {
  const fd = fs.openSync(file, 'w', 0o600);
  let ok = false;
  try {
    const w = new SumWriter(fd);
    await fill(w);
    fs.fsyncSync(fd);
    ok = true;
    return w;
  } finally {
    fs.closeSync(fd);
    if (!ok) fs.rmSync(file, { force: true });
  }
}

/** Makes the renames durable; some file systems cannot sync a directory, and then the rename is as durable as they make it. */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // nothing more to do
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * Writes the cache to `file` and `file.meta`. Nothing may touch the cache until
 * it resolves. Rejects when the disk says no, with no snapshot left behind that
 * a start could take for whole.
 */
export async function saveSnapshot(cache: Cache, file: string, settings: SnapshotSettings): Promise<SaveReport> {
  const started = performance.now();
  const { mem, slabs, lru, index } = cache;
  // A save runs once no other thread serves (shutdown): the pages stream out over
  // many turns, which no lock held per slice could keep consistent. The expansion
  // it finishes takes the lock all the same.
  const buckets = cache.lock.run(() => index.table()); // finishes a hash expansion under way
  const layout = mem.layout();
  const largest = slabs.largest;
  const pageClass = slabs.pageClass;
  let pages = 0;
  for (let p = 1; p <= layout.reservedPages; p++) if ((pageClass[p] ?? 0) !== 0) pages++;

  const dataTmp = file + TMP_SUFFIX;
  const data = await writeFileSynced(dataTmp, async (w) => {
    const head = Buffer.alloc(FILE_HEADER_BYTES);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(FORMAT_VERSION, 8);
    new Uint32Array(head.buffer, head.byteOffset + 12, 1)[0] = BYTE_ORDER_MARK;
    w.write(head);
    w.section(KIND_F64, [layout.reservedPages, layout.arenaNext, layout.pagesInUse, largest, index.hashpower]);
    w.section(KIND_U32, layout.spare);
    const classes = new Uint8Array(layout.reservedPages + 1);
    classes.set(pageClass.subarray(0, Math.min(pageClass.length, classes.length)));
    w.section(KIND_U8, classes);
    for (let c = 0; c <= largest; c++) w.section(KIND_U32, slabs.pageList.of(c));
    w.section(KIND_U32, slabs.freeHead);
    w.section(KIND_F64, slabs.freeCount);
    w.section(KIND_F64, slabs.totalPages);
    w.section(KIND_F64, slabs.usedChunks);
    w.section(KIND_U32, slabs.carveNext);
    w.section(KIND_F64, slabs.carveLeft);
    w.section(KIND_U32, lru.head);
    w.section(KIND_U32, lru.tail);
    w.section(KIND_F64, lru.count);
    w.section(KIND_U32, buckets);
    w.section(KIND_F64, [pages]);
    await w.writeAll(function* pagesInUse() {
      for (let p = 1; p <= layout.reservedPages; p++) if (classes[p] !== 0) yield mem.u8[p];
    }());
  });

  const clock = cache.clock;
  const meta = encodeMeta([
    [TAG_MAIN, [
      ...settingLines(settings, PAGE_SIZE),
      ['current_time', String(clock.now)],
      ['process_started', String(clock.processStarted)],
      ['stop_time', String(Math.floor(Date.now() / 1000))],
      ['current_cas', String(cache.casId)],
      ['oldest_cas', String(cache.oldestCas)],
      ['hashpower', String(index.hashpower)],
      ['oldest_live', String(cache.oldestLive)],
    ]],
    [TAG_OURS, [
      ['format', String(FORMAT_VERSION)],
      ['hash', cache.hashName],
      ['data_bytes', String(data.bytes)],
      ['data_crc32', data.crc.hex()],
      ['items', String(cache.counters.curr_items)],
    ]],
  ]);
  const metaFile = file + META_SUFFIX;
  const metaTmp = metaFile + TMP_SUFFIX;
  try {
    await writeFileSynced(metaTmp, (w) => w.write(Buffer.from(meta, 'latin1')));
  } catch (e) {
    fs.rmSync(dataTmp, { force: true });
    throw e;
  }
  // an old meta must never sit beside the new data, even for an instant
  fs.rmSync(metaFile, { force: true });
  fs.renameSync(dataTmp, file);
  fs.renameSync(metaTmp, metaFile);
  syncDir(path.dirname(path.resolve(file)));
  return { items: cache.counters.curr_items, pages, bytes: data.bytes, ms: performance.now() - started };
}
