/**
 * A connection's reading and its drive loop: bytes in from the socket, through
 * the connection's protocol (picked by the first byte), and what comes next
 * (another -R turn, a pause, the end).
 *
 * TCP and unix connections read through `onread` into one buffer the process
 * shares (fast-read.ts); TLS, and a Node without what that needs, through 'data'
 * events. A read is parsed where it lies; only an unfinished request (the tail) is
 * kept, in a buffer this connection owns, which later reads are appended to
 * (compacted before it grows). Nothing is concatenated per read. The shared read
 * buffer is overwritten by the next read, so whatever must outlive a read (the
 * tail, and the requests left for later by -R, backpressure or a streamed reply)
 * is copied out before the read callback returns; replies never point into it
 * (Output copies keys and small values, and large ones come from the arena).
 *
 * Functions of the connection, not methods, so that connection.ts stays one job;
 * they touch only its fields and add no call or allocation per read.
 */
import type { Connection } from './connection.js';
import { detectProtocol } from '../protocol/detect.js';
import { traceBytes } from './trace.js';
import { flush } from './conn-write.js';

/** A tail buffer we own starts this big; one larger than SPARE_MAX is dropped when empty. */
const TAIL_MIN = 16 * 1024;
const SPARE_MAX = 64 * 1024;
/**
 * Emptied tail buffers, shared by the thread's connections: a connection hands its
 * tail back once every byte in it is parsed, so an idle connection keeps none (kept
 * per connection, a thousand that had once read a request in two pieces held 16-64
 * MB), and the next tail on the thread takes one here instead of allocating.
 */
const spares: Buffer[] = [];
const SPARES = 16;

/** An emptied tail buffer of at least `need` bytes, or null. */
function takeSpare(need: number): Buffer | null {
  for (let i = spares.length - 1; i >= 0; i--) {
    const b = spares[i];
    if (b.length < need) continue;
    spares[i] = spares[spares.length - 1];
    spares.pop();
    return b;
  }
  return null;
}

/** chunk[0, n) was read. */
export function received(c: Connection, chunk: Buffer, n: number): void {
  const ctx = c.host.ctx;
  ctx.counters.bytes_read += n;
  c.lastCmd = ctx.cache.clock.now;
  // a streamed reply keeps what arrives meanwhile for after its end
  if ((c.closing && c.producer === null) || c.dead) return;
  if (c.tail === null) {
    c.tail = chunk;
    c.owned = false;
    c.tailStart = 0;
    c.tailEnd = n;
  } else {
    append(c, chunk, n);
  }
  if (!c.scheduled) drive(c);
  else hold(c, true); // its turn is coming: read no more until then
}

/** Moves the tail out of the shared read buffer into one this connection owns. */
export function keep(c: Connection): void {
  const t = c.tail as Buffer;
  const len = c.tailEnd - c.tailStart;
  let own = takeSpare(len);
  if (own === null) {
    let size = TAIL_MIN;
    while (size < len) size *= 2;
    own = Buffer.allocUnsafe(size);
  }
  t.copy(own, 0, c.tailStart, c.tailEnd);
  c.tail = own;
  c.owned = true;
  c.tailStart = 0;
  c.tailEnd = len;
}

/** Adds chunk[0, n) after the kept tail, compacting before growing. */
function append(c: Connection, chunk: Buffer, n: number): void {
  let t = c.tail as Buffer;
  const rest = c.tailEnd - c.tailStart;
  if (c.owned && t.length - c.tailEnd >= n) {
    chunk.copy(t, c.tailEnd, 0, n);
    c.tailEnd += n;
    return;
  }
  const need = rest + n;
  if (c.owned && t.length >= need) {
    t.copyWithin(0, c.tailStart, c.tailEnd);
  } else {
    let size = c.owned ? t.length * 2 : TAIL_MIN;
    while (size < need) size *= 2;
    const grown = takeSpare(need) ?? Buffer.allocUnsafe(size);
    t.copy(grown, 0, c.tailStart, c.tailEnd);
    t = grown;
    c.tail = t;
    c.owned = true;
  }
  chunk.copy(t, rest, 0, n);
  c.tailStart = 0;
  c.tailEnd = need;
}

/**
 * Parses what is buffered, writes the replies, and decides what comes next. Only
 * the parse holds the engine lock: the write, which on loopback runs the peer's
 * TCP receive too, is outside it, and large values in it stay pinned until written.
 */
export function drive(c: Connection): void {
  if (c.dead || c.closing || c.paused || c.tail === null) return;
  const t = c.tail;
  const s = c.tailStart;
  const lock = c.lock;
  let n: number;
  lock.enter();
  try {
    n = parse(c, t, s);
  } finally {
    lock.exit();
  }
  if (n < 0) return;
  if (c.tracing) traceBytes(c.host.log!, '<', c.id, t, s, s + n);
  c.tailStart = s + n;
  flush(c);
  next(c, t, n);
}

/** proto.process over the tail, the engine lock held; -1: the connection is lost. */
function parse(c: Connection, t: Buffer, s: number): number {
  const proto = c.proto ?? (c.proto = detectProtocol(c.host.ctx, c, t[s]));
  const logs = c.host.ctx.logs;
  if (logs !== undefined && logs.watching) logs.cfd = c.id;
  c.parsing = true;
  try {
    const n = proto.process(t, s, c.tailEnd);
    c.parsing = false;
    return n;
  } catch (err) {
    // a bug, not bad input (protocols answer that with values): lose this
    // connection, never the process and everyone else's
    c.parsing = false;
    c.host.log?.error(`connection ${c.id}: ${(err as Error).stack ?? String(err)}`);
    c.out.discard();
    c.destroy();
    return -1;
  }
}

/** After a parse of n bytes of t and its write: another turn, a pause, or the end. */
function next(c: Connection, t: Buffer, n: number): void {
  const proto = c.proto!;
  if (c.watcher !== null) {
    c.tail = null; // requests pipelined after `watch` are never run, as in memcached
    return;
  }
  // a stream() started: its end drives the requests left in the tail
  if (c.closing && c.producer === null) {
    c.finish();
    return;
  }
  const left = c.tailEnd - c.tailStart;
  if (left === 0) {
    // c.tail === t: a drive run from inside this one (a write that drained at once)
    // may have handed t back already, and a buffer in the pool twice would be two tails.
    // Not while a streamed reply runs: another connection's next read could reuse
    // bytes its request left there before it is done with them.
    if (c.tail === t && c.owned && c.producer === null && t.length <= SPARE_MAX && spares.length < SPARES) {
      spares.push(t);
    }
    c.tail = null;
  }
  const again = proto.yielded === true || (proto.yielded === undefined && n > 0 && left > 0);
  // -R: read nothing more until the batch is done, as memcached reads only when its
  // buffer holds no whole request: a client pipelining faster than we parse would
  // otherwise grow the tail without bound
  hold(c, again);
  if (again && !c.scheduled) {
    // -R: let other connections have a turn before the rest of this batch
    c.scheduled = true;
    setImmediate(c.onTick ?? (c.onTick = (): void => {
      c.scheduled = false;
      drive(c);
    }));
  }
}

/** Stops or restarts reading while requests already read wait for their -R turn. */
function hold(c: Connection, on: boolean): void {
  if (on === c.held) return;
  c.held = on;
  if (on) c.socket.pause();
  else resumeReading(c);
}

/**
 * Reads again, unless something else still holds them: a batch waiting its -R turn
 * (held), backpressure (paused) or a streamed reply (producer). The one place that
 * resumes, so each holder lets go without knowing of the others.
 */
export function resumeReading(c: Connection): void {
  if (!c.held && !c.paused && c.producer === null) c.socket.resume();
}
