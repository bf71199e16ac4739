/**
 * A connection's writing: its replies out, backpressure, and the writes still
 * in flight.
 *
 * Everything one read produced goes out as one write, or one corked burst when
 * large values ride along as pinned arena views; the pins are released when the
 * socket reports the write done, so an overwrite or eviction meanwhile cannot
 * change bytes the kernel has not taken yet. On TCP and unix connections the write
 * goes straight to the handle (fast-write.ts): one writeBuffer (or writev) call,
 * usually done by the time it returns.
 *
 * Backpressure: once more than settings.maxOutputBytes (or the socket's 16 KiB
 * high-water mark, whichever is larger) wait in the socket (or, written directly,
 * in libuv's queue), we stop reading (and parsing) until it drains, so a client
 * that never reads cannot make us buffer without bound.
 */
import type { Sent } from '../protocol/output.js';
import type { Connection } from './connection.js';
import { traceWrites } from './trace.js';
import { DONE, PENDING, queued, write, writeOne, type WriteReq } from './fast-write.js';

/** what a used batch slot holds, so the batch keeps no buffer alive after its flush */
const EMPTY = new Uint8Array(0);
/**
 * The buffers of one flush: batch[0, batchLen). One list for the process, as a
 * flush fills and empties it before it returns. A count, not `batch.length = 0`,
 * which is a runtime call on every read.
 */
const batch: Uint8Array[] = [];
let batchLen = 0;
const toBatch = (b: Uint8Array): void => {
  batch[batchLen++] = b;
};

/** One write (or one corked burst) for everything in conn.out. */
export function flush(c: Connection): void {
  const out = c.out;
  if (out.isEmpty()) return;
  const sock = c.socket;
  // a reply in one buffer with nothing to release after it, straight to the handle:
  // no list of buffers to fill and clear
  if (c.direct !== null && !sock.destroyed && sock.writableLength === 0 && !c.tracing) {
    const one = out.single();
    if (one !== null) {
      c.host.ctx.counters.bytes_written += one.length;
      directOutcome(c, c.direct, writeOne(c.direct, one, c, directDone), null);
      return;
    }
  }
  const sent = out.flush(toBatch);
  const n = batchLen;
  batchLen = 0;
  if (c.tracing) traceWrites(c.host.log!, c.id, batch.slice(0, n));
  const ctx = c.host.ctx;
  if (sock.destroyed) {
    batch.fill(EMPTY, 0, n);
    if (sent) release(c, sent);
    return;
  }
  // straight to the handle, unless the socket's own writes still hold bytes that
  // must go first
  if (c.direct !== null && sock.writableLength === 0) {
    writeDirect(c, c.direct, n, sent);
    return;
  }
  const many = n > 1;
  if (many) sock.cork();
  const last = n - 1;
  for (let i = 0; i < last; i++) {
    ctx.counters.bytes_written += batch[i].length;
    sock.write(batch[i]);
    batch[i] = EMPTY; // the socket holds what it still needs
  }
  ctx.counters.bytes_written += batch[last].length;
  if (sent) {
    (c.inFlight ?? (c.inFlight = new Set())).add(sent);
    sock.write(batch[last], () => written(c, sent));
  } else {
    sock.write(batch[last]);
  }
  batch[last] = EMPTY;
  if (many) sock.uncork();
  const pending = sock.writableLength;
  // everything went to the kernel: the chunk is free until the next reply
  if (pending === 0) idleOut(c);
  // only once the socket wants a 'drain': under its high-water mark (16 KiB) it would
  // never send one, and a -o max_output_bytes below that would pause us for good
  if (pending > ctx.settings.maxOutputBytes && sock.writableNeedDrain && !c.paused) {
    c.paused = true;
    sock.pause();
  }
}

/** flush() through fast-write.ts: one write call for batch[0, n). */
function writeDirect(c: Connection, handle: object, n: number, sent: Sent | null): void {
  const ctx = c.host.ctx;
  for (let i = 0; i < n; i++) ctx.counters.bytes_written += batch[i].length;
  const r = write(handle, batch, n, c, sent, directDone);
  for (let i = 0; i < n; i++) batch[i] = EMPTY;
  directOutcome(c, handle, r, sent);
}

/** What a direct write's result r (fast-write.ts) leaves to do. */
function directOutcome(c: Connection, handle: object, r: number, sent: Sent | null): void {
  const ctx = c.host.ctx;
  if (r === DONE) {
    // the kernel has every byte, and those of every earlier write too (libuv writes
    // at once only with its queue empty): the spent chunks may go back now
    if (sent) release(c, sent);
    idleOut(c);
  } else if (r === PENDING) {
    c.directPending++;
    if (sent) (c.inFlight ?? (c.inFlight = new Set())).add(sent);
    // its completion resumes reading, as 'drain' does for the socket's own writes
    if (!c.paused && queued(handle) > ctx.settings.maxOutputBytes) {
      c.paused = true;
      c.socket.pause();
    }
  } else {
    // the socket broke: as Node's own write would, destroy it ('close' cleans up)
    if (sent) release(c, sent);
    c.closeReason = 'error';
    c.socket.destroy();
  }
}

/** libuv is done with a direct write that had to wait (fast-write.ts calls it on its request). */
function directDone(this: WriteReq, status: number): void {
  const c = this.owner as Connection;
  const sent = this.token as Sent | null;
  this.owner = null;
  this.token = null;
  this.buffer = null;
  c.directPending--;
  if (sent !== null) written(c, sent);
  if (c.dead) return;
  if (status < 0) {
    // cancelled by a close we made keeps its reason; else the socket broke
    if (!c.socket.destroyed) {
      c.closeReason = 'error';
      c.socket.destroy();
    }
    return;
  }
  if (c.directPending === 0 && c.socket.writableLength === 0) c.onDrain();
}

/** A flush's last write is done: its pins and spent chunks go back. */
function written(c: Connection, sent: Sent): void {
  if (c.inFlight === null || !c.inFlight.delete(sent)) return;
  release(c, sent);
  idleOut(c);
}

/**
 * Unpins what a flush sent. Writes happen outside the engine lock (drive() holds it
 * only to parse), and unpinning changes item refcounts, so this takes it.
 */
function release(c: Connection, sent: Sent): void {
  c.lock.enter();
  try {
    c.out.release(sent);
  } finally {
    c.lock.exit();
  }
}

/** Gives the output chunk back once nothing of ours waits in the socket. */
export function idleOut(c: Connection): void {
  if ((c.inFlight === null || c.inFlight.size === 0) && !c.parsing && c.directPending === 0 &&
    c.socket.writableLength === 0) c.out.idle();
}
