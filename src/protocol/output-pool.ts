/**
 * The memory replies are built in: fixed-size chunks shared by every connection,
 * handed back once the socket has written them, and given back to the system when
 * more are free than the pool keeps.
 *
 * The pool's first POOL_KEEP chunks are plain ArrayBuffers, made once and reused
 * for the life of the thread: they are what every ordinary reply is written into,
 * and V8's optimized code reads and writes plain typed arrays inline, where a view
 * of a resizable ArrayBuffer costs a call for its `.buffer`, its length and each
 * new view made of it. Chunks past those (stalled readers, large replies) are each
 * a resizable ArrayBuffer, so that freeing one is explicit: resize(0) returns its
 * pages to the kernel at once, where a dropped Buffer would wait for a full garbage
 * collection that an idle daemon may not run for a long time. That is what lets
 * the memory of a thousand stalled readers go away when they do, rather than stay
 * in RSS until the next busy spell; what stays is the kept chunks, as a pool of
 * POOL_KEEP would hold anyway.
 *
 * A chunk is handed out as a Chunk, which carries its ArrayBuffer beside its
 * bytes: a view of the bytes is made per write from the ArrayBuffer directly.
 *
 * NOTE: a freed chunk's pages are gone; a write still pointing into one would
 * fault. Chunks come back here only after the socket is done with them (write
 * callback, an empty write queue, or the socket closed).
 */

/** Bytes in one chunk: most batches fit in one, and -c 1024 busy clients hold 16 MiB. */
export const CHUNK_SIZE = 16 * 1024;
/** Chunks kept for reuse (1 MiB), made once as plain ArrayBuffers; more than this are freed. */
const POOL_KEEP = 64;

interface ResizableArrayBuffer extends ArrayBuffer {
  resize(n: number): void;
}
type ResizableCtor = new (n: number, opts: { maxByteLength: number }) => ResizableArrayBuffer;
const Resizable = ArrayBuffer as unknown as ResizableCtor;

/** One chunk of reply memory: `buf` views all of `ab`, from its start. */
export class Chunk {
  readonly buf: Buffer;
  /**
   * The last view of it handed to a write (Output.tail()): replies of one size
   * follow one another, and a view made per write is a builtin call.
   */
  view: Uint8Array;
  /** where view starts and its length: numbers read inline, where a view's getters are calls */
  viewStart = 0;
  viewLength = 0;
  constructor(readonly ab: ArrayBuffer, readonly kept: boolean) {
    this.buf = Buffer.from(ab, 0, ab.byteLength);
    this.view = new Uint8Array(ab, 0, 0);
  }
}

const free: Chunk[] = [];
/** kept chunks made so far (never more than POOL_KEEP) */
let kept = 0;
/** chunks (and one-off larger buffers) handed out and not yet given back, for `stats` and tests */
let outstanding = 0;
let outstandingBytes = 0;

function resizable(size: number): Chunk {
  return new Chunk(new Resizable(size, { maxByteLength: size }), false);
}

/** A chunk of CHUNK_SIZE bytes, or a one-off buffer for a single reply part larger than that. */
export function takeChunk(size = CHUNK_SIZE): Chunk {
  outstanding++;
  if (size <= CHUNK_SIZE) {
    outstandingBytes += CHUNK_SIZE;
    const c = free.pop();
    if (c !== undefined) return c;
    if (kept < POOL_KEEP) {
      kept++;
      return new Chunk(new ArrayBuffer(CHUNK_SIZE), true);
    }
    return resizable(CHUNK_SIZE);
  }
  // a whole number of pages, so that a slightly larger next request can reuse nothing anyway
  const n = Math.ceil(size / 4096) * 4096;
  outstandingBytes += n;
  return resizable(n);
}

/** The socket is done with c: keep it for reuse, or free its memory now. */
export function giveChunk(c: Chunk): void {
  outstanding--;
  outstandingBytes -= c.buf.length;
  if (c.kept) {
    free.push(c);
    return;
  }
  (c.ab as ResizableArrayBuffer).resize(0);
}

/** Bytes of reply memory held by connections now, and free in the pool. */
export function outputMemory(): { held: number; chunks: number; pooled: number } {
  return { held: outstandingBytes, chunks: outstanding, pooled: free.length * CHUNK_SIZE };
}
