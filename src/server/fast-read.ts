/**
 * Reads through `onread`: an accepted TCP or unix connection is re-wrapped in a
 * net.Socket whose `onread` option makes libuv read straight into one buffer we
 * own, so no Buffer is made per read and Readable's push/emit is skipped. On this
 * path a small request costs about 1.6x less of Node's own CPU than through
 * 'data' events (docs/performance.md).
 *
 * Node has no public way to give `onread` to a socket a net.Server accepted, so
 * this takes the accepted socket's handle (`_handle`, and `_server` for the
 * server's connection count) and hands it to a new Socket. Everything that touches
 * those private fields lives here: when they are missing (a Node that changed
 * them), adopt() returns null and the connection reads through 'data' events as
 * before. test/fast-read.test.ts fails when the fast path is not in use, so a Node
 * upgrade cannot lose it silently.
 *
 * The listener must be made with `pauseOnConnect: true`, so that the accepted
 * socket has not started reading before its handle changes hands.
 */
import net from 'node:net';

/**
 * One read buffer for the whole process: a read is handled to its end (parsed,
 * replies copied out, the unfinished tail copied into the connection's own buffer)
 * before the event loop can make the next one, so connections can share it.
 */
const READ_SIZE = 64 * 1024;
let readBuf: Buffer | null = null;

/** What a handle must offer for its reads to go into a buffer of ours. */
interface UserBufferHandle {
  reading?: boolean;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
}

/** The private fields of an accepted net.Socket that adoption moves. */
interface AcceptedSocket {
  _handle?: UserBufferHandle | null;
  _server?: net.Server | null;
  server?: net.Server | null;
}

/**
 * Called with the bytes of one read: buf[0, n), valid only until it returns. The
 * connection must copy whatever it keeps. Node calls it as a method of the socket
 * (Node 20 and 24: `stream[kBufferCb](nread, buf)`), so one function serves every
 * connection and finds its own through `this`, where a closure per connection
 * would cost each idle one its 56 bytes and a context. Not documented either: a
 * Node that changed it fails every read, and test/fast-read.test.ts with them.
 */
export type OnRead = (n: number, buf: Buffer) => void;

/**
 * A socket that reads through `onread` into the shared buffer, owning the accepted
 * socket's handle, or null when this Node does not offer what that needs (the
 * caller then reads `accepted` through 'data' events). `accepted` must not be used
 * after a non-null return.
 */
export function adopt(accepted: net.Socket, onRead: OnRead): net.Socket | null {
  const a = accepted as unknown as AcceptedSocket;
  const handle = a._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStop !== 'function' || handle.reading === true) {
    return null;
  }
  if (readBuf === null) readBuf = Buffer.allocUnsafe(READ_SIZE);
  const server = a._server ?? null;
  a._handle = null; // the new socket owns the handle from here
  a._server = null; // and counts against the server's connections (server.close waits for it)
  let sock: net.Socket;
  try {
    sock = new net.Socket({
      handle,
      readable: true,
      writable: true,
      onread: { buffer: readBuf, callback: onRead },
    } as unknown as net.SocketConstructorOpts);
  } catch {
    a._handle = handle;
    a._server = server;
    return null;
  }
  const s = sock as unknown as AcceptedSocket;
  s._server = server;
  s.server = server;
  return sock;
}

/**
 * True while libuv is reading from this socket's handle. Backpressure pauses an
 * adopted socket by stopping its handle's reads (socket.pause()); tests check it
 * here. A socket without a handle reads nothing.
 */
export function handleReading(socket: net.Socket): boolean {
  const h = (socket as unknown as AcceptedSocket)._handle;
  return h !== null && h !== undefined && h.reading === true;
}
