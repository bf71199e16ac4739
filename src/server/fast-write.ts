/**
 * Writes a reply straight to a socket's libuv handle, past net.Socket's Writable:
 * no Writable.write bookkeeping, no write callback, no nextTick per reply. A small
 * reply is usually taken by the kernel at once (libuv's try-write), and then the
 * write is over when the call returns.
 *
 * Node offers no public way to do this. It takes the handle's writeBuffer/writev
 * and the WriteWrap request class from process.binding('stream_wrap'), the
 * same calls net.Socket makes itself. Everything that touches them lives here:
 * when they are missing (a Node that changed them), usable() is false and
 * connections write through socket.write as before. test/fast-write.test.ts fails
 * when the direct path is not in use, so a Node upgrade cannot lose it silently.
 *
 * libuv keeps a handle's writes in order, so a direct write and a later
 * socket.write (a streamed reply) go out in the order made, and socket.end()
 * shuts the socket down only after every direct write is done.
 */
import type net from 'node:net';

/** The request object a write that has to wait carries until libuv is done with it. */
export interface WriteReq {
  /** libuv's answer, called with `this` the request: status < 0 is an error */
  oncomplete: (this: WriteReq, status: number) => void;
  /** what the write must keep alive and report back to; ours, not Node's */
  buffer: unknown;
  owner: unknown;
  token: unknown;
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

/** A stream handle's writes, as net.Socket calls them. */
interface WriteHandle {
  writeBuffer(req: WriteReq, b: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
  readonly writeQueueSize: number;
}

function loadBinding(): StreamBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) ||
      typeof b.kLastWriteWasAsync !== 'number') return null;
    return b as StreamBinding;
  } catch {
    return null;
  }
}

const binding = loadBinding();

/**
 * The request for the next write. One serves every write that completes at once
 * (libuv attaches nothing to it then); a write that has to wait keeps it, and the
 * next write makes a new one.
 */
let spare: WriteReq | null = null;

/** write() finished: the kernel has every byte. */
export const DONE = 0;
/** write() is waiting in libuv: the request's oncomplete will say when it is done. */
export const PENDING = 1;

/** The socket's handle, if its writes can go to it directly; else null. */
export function directHandle(socket: net.Socket): object | null {
  if (binding === null) return null;
  const h = (socket as unknown as { _handle?: Partial<WriteHandle> | null })._handle;
  if (h === null || h === undefined || typeof h.writeBuffer !== 'function' || typeof h.writev !== 'function' ||
    typeof h.writeQueueSize !== 'number') return null;
  return h;
}

/**
 * Writes bufs[0, n) to the handle in one call. Returns DONE, PENDING (then the
 * request's oncomplete(status) is called once libuv is done, with owner and token
 * set as given; the bytes must stay as they are until then), or a negative libuv
 * error (nothing was queued).
 */
export function write(
  handle: object, bufs: Uint8Array[], n: number, owner: unknown, token: unknown,
  oncomplete: (this: WriteReq, status: number) => void,
): number {
  const h = handle as WriteHandle;
  const b = binding as StreamBinding;
  const req = spare ?? new b.WriteWrap();
  // writev reads the array's length: it gets one of its own (large values only)
  const what = n === 1 ? bufs[0] : bufs.slice(0, n);
  const err = n === 1 ? h.writeBuffer(req, what as Uint8Array) : h.writev(req, what as Uint8Array[], true);
  if (err !== 0) {
    spare = req;
    return err < 0 ? err : -1;
  }
  if (b.streamBaseState[b.kLastWriteWasAsync] === 0) {
    spare = req;
    return DONE;
  }
  spare = null;
  req.oncomplete = oncomplete;
  req.owner = owner;
  req.token = token;
  req.buffer = what;
  return PENDING;
}

/** write() of the one buffer b, with no list to fill (the common small reply). */
export function writeOne(
  handle: object, b: Uint8Array, owner: unknown,
  oncomplete: (this: WriteReq, status: number) => void,
): number {
  const bind = binding as StreamBinding;
  const req = spare ?? new bind.WriteWrap();
  const err = (handle as WriteHandle).writeBuffer(req, b);
  if (err !== 0) {
    spare = req;
    return err < 0 ? err : -1;
  }
  if (bind.streamBaseState[bind.kLastWriteWasAsync] === 0) {
    spare = req;
    return DONE;
  }
  spare = null;
  req.oncomplete = oncomplete;
  req.owner = owner;
  req.token = null;
  req.buffer = b;
  return PENDING;
}

/** Bytes libuv still has to write on this handle. */
export function queued(handle: object): number {
  return (handle as WriteHandle).writeQueueSize;
}
