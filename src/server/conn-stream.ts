/**
 * A connection's streamed and deferred replies.
 *
 * Streamed replies (stream(): lru_crawler metadump) are pulled from their producer
 * one slice per turn of the event loop, only while less than maxOutputBytes wait
 * in the socket (else on 'drain'); meanwhile nothing is read or parsed, and the
 * requests that came after it are handled once it ends. A deferred reply (one
 * that comes from another thread) is a stream of one slice that waits for it.
 */
import type { Producer } from '../protocol/context.js';
import type { Connection } from './connection.js';
import { traceWrites } from './trace.js';
import { drive, resumeReading } from './conn-read.js';

/** Sends the rest of this reply from p, a slice at a time (see ProtoConn.stream). */
export function startStream(c: Connection, p: Producer): void {
  if (c.dead) {
    p.abort();
    return;
  }
  c.producer = p;
  c.closing = true; // the protocol stops parsing after this request
  // like memcached's event_del: read nothing more until the end (bounds input too)
  c.socket.pause();
  if (c.pulling === null) c.pulling = setImmediate(puller(c));
}

export function puller(c: Connection): () => void {
  return c.onPull ?? (c.onPull = (): void => {
    c.pulling = null;
    pull(c);
  });
}

/** One slice per turn, so other connections are served between slices. */
function pull(c: Connection): void {
  const p = c.producer;
  if (p === null || c.dead || c.paused) return;
  const sock = c.socket;
  if (sock.destroyed || sock.writableEnded) {
    // the daemon is closing: no more slices
    stopStream(c);
    return;
  }
  // a reply waiting on another thread: its arrival pulls again
  if (p.wait !== undefined && p.wait(puller(c))) return;
  c.lock.enter();
  let b: Buffer | null;
  try {
    b = p.next();
  } finally {
    c.lock.exit();
  }
  if (b === null) {
    c.producer = null;
    c.closing = false;
    c.lastCmd = c.host.ctx.cache.clock.now; // idle_timeout counts from END, not from the request
    resumeReading(c);
    if (!c.scheduled) drive(c); // requests that came after the streamed one
    return;
  }
  if (b.length > 0) {
    if (c.tracing) traceWrites(c.host.log!, c.id, [b]);
    c.host.ctx.counters.bytes_written += b.length;
    sock.write(b);
  }
  // over the bound: wait for 'drain', which pulls again (see flush() for writableNeedDrain)
  if (sock.writableLength > c.host.ctx.settings.maxOutputBytes && sock.writableNeedDrain) c.paused = true;
  else c.pulling = setImmediate(puller(c));
}

/** Ends a streamed reply before its end: the producer lets go of what it holds. */
export function stopStream(c: Connection): void {
  if (c.pulling !== null) clearImmediate(c.pulling);
  c.pulling = null;
  const p = c.producer;
  c.producer = null;
  if (p === null) return;
  c.lock.enter();
  try {
    p.abort();
  } finally {
    c.lock.exit();
  }
}

/** A reply that arrives later from another thread, as a one-slice Producer. */
export class DeferredReply implements Producer {
  private value: Buffer | null = null;
  private done = false;
  private taken = false;
  private wake: (() => void) | null = null;

  constructor(reply: Promise<Buffer>) {
    reply.then((b) => this.arrived(b), (e: unknown) => {
      this.arrived(Buffer.from(`SERVER_ERROR ${(e as Error).message ?? String(e)}\r\n`, 'latin1'));
    });
  }

  private arrived(b: Buffer): void {
    this.value = b;
    this.done = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  wait(wake: () => void): boolean {
    if (this.done) return false;
    this.wake = wake;
    return true;
  }

  next(): Buffer | null {
    if (this.taken) return null;
    this.taken = true;
    return this.value;
  }

  abort(): void {
    this.wake = null;
  }
}
