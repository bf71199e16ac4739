/**
 * The memory replies are built in: fixed-size chunks shared by every connection,
 * handed back once the socket has written them, and given back to the system when
 * more are free than the pool keeps.
 *
 * Each chunk is its own resizable ArrayBuffer, so that freeing one is explicit:
 * resize(0) returns its pages to the kernel at once, where a dropped Buffer would
 * wait for a full garbage collection that an idle daemon may not run for a long
 * time. That is what lets the memory of a thousand stalled readers go away when
 * they do, rather than stay in RSS until the next busy spell.
 *
 * NOTE: a freed chunk's pages are gone; a write still pointing into one would
 * fault. Chunks come back here only after the socket is done with them (write
 * callback, an empty write queue, or the socket closed).
 */

/** Bytes in one chunk: most batches fit in one, and -c 1024 busy clients hold 16 MiB. */
export const CHUNK_SIZE = 16 * 1024;
/** Free chunks kept for reuse (1 MiB); more than this are freed. */
const POOL_KEEP = 64;

interface ResizableArrayBuffer extends ArrayBuffer {
  resize(n: number): void;
}
type ResizableCtor = new (n: number, opts: { maxByteLength: number }) => ResizableArrayBuffer;
const Resizable = ArrayBuffer as unknown as ResizableCtor;

const free: Buffer[] = [];
/** chunks (and one-off larger buffers) handed out and not yet given back, for `stats` and tests */
let outstanding = 0;
let outstandingBytes = 0;

function make(size: number): Buffer {
  return Buffer.from(new Resizable(size, { maxByteLength: size }), 0, size);
}

/** A chunk of CHUNK_SIZE bytes, or a one-off buffer for a single reply part larger than that. */
export function takeChunk(size = CHUNK_SIZE): Buffer {
  outstanding++;
  if (size <= CHUNK_SIZE) {
    outstandingBytes += CHUNK_SIZE;
    return free.pop() ?? make(CHUNK_SIZE);
  }
  // a whole number of pages, so that a slightly larger next request can reuse nothing anyway
  const n = Math.ceil(size / 4096) * 4096;
  outstandingBytes += n;
  return make(n);
}

/** The socket is done with b: keep it for reuse, or free its memory now. */
export function giveChunk(b: Buffer): void {
  outstanding--;
  outstandingBytes -= b.length;
  if (b.length === CHUNK_SIZE && free.length < POOL_KEEP) {
    free.push(b);
    return;
  }
  (b.buffer as ResizableArrayBuffer).resize(0);
}

/** Bytes of reply memory held by connections now, and free in the pool. */
export function outputMemory(): { held: number; chunks: number; pooled: number } {
  return { held: outstandingBytes, chunks: outstanding, pooled: free.length * CHUNK_SIZE };
}
