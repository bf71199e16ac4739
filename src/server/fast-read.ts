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
 *
 * Better still, acceptDirect() has a listening server build that socket itself:
 * it takes the new connection's handle where net.Server would (the listening
 * handle's `onconnection`) and makes the one socket, reading through `onread`,
 * that the server then emits with 'connection'. The net.Socket net.Server would
 * have made, only to lose its handle, is about half of what accepting allocates
 * (some 2.5 KB of garbage per connection), and a crowd of connections spreads
 * that garbage over fresh heap pages.
 */
import dc from 'node:diagnostics_channel';
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
 * The sockets made here, and only they, read through `onread`: a class of their
 * own tells them apart at no cost per socket.
 */
class ReadSocket extends net.Socket {}

/** A socket over `handle` reading through `onread`, made paused: its owner starts the reads. */
function readSocket(handle: UserBufferHandle, allowHalfOpen: boolean, onRead: OnRead): net.Socket {
  if (readBuf === null) readBuf = Buffer.allocUnsafe(READ_SIZE);
  return new ReadSocket({
    handle,
    allowHalfOpen,
    pauseOnCreate: true,
    readable: true,
    writable: true,
    onread: { buffer: readBuf, callback: onRead },
  } as unknown as net.SocketConstructorOpts);
}

/**
 * A socket that reads through `onread` into the shared buffer, owning the accepted
 * socket's handle, or null when this Node does not offer what that needs (the
 * caller then reads `accepted` through 'data' events). `accepted` must not be used
 * after a non-null return. A socket acceptDirect() made is returned as it is (it
 * is paused, as every accepted socket is here).
 */
export function adopt(accepted: net.Socket, onRead: OnRead): net.Socket | null {
  if (accepted instanceof ReadSocket) return accepted;
  const a = accepted as unknown as AcceptedSocket;
  const handle = a._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStop !== 'function' || handle.reading === true) {
    return null;
  }
  const server = a._server ?? null;
  a._handle = null; // the new socket owns the handle from here
  a._server = null; // and counts against the server's connections (server.close waits for it)
  let sock: net.Socket;
  try {
    sock = readSocket(handle, accepted.allowHalfOpen, onRead);
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
 * Starts the reads of a paused socket adopt() returned, as socket.resume() would
 * without the stream's own resume, which an onread socket does not use.
 */
export function startReading(socket: net.Socket): void {
  const h = (socket as unknown as { _handle?: (UserBufferHandle & { readStart(): number }) | null })._handle;
  if (h === null || h === undefined || h.reading === true) return;
  h.reading = true;
  const err = h.readStart();
  if (err !== 0) socket.destroy();
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

/** A listening handle, as net.Server drives it. */
interface ListenHandle {
  onconnection?: (this: ListenHandle, err: number, handle: UserBufferHandle | undefined) => void;
}

/** The fields of net.Server that its own onconnection reads. */
interface ServerFields {
  _handle?: ListenHandle | null;
  _connections: number;
  maxConnections?: number | null;
  keepAlive?: boolean;
  blockList?: unknown;
  noDelay?: boolean;
  allowHalfOpen?: boolean;
}

/** net.Server publishes each socket it accepts here; so do we. */
const serverSocket = dc.channel('net.server.socket');

/**
 * Makes the listening `server` (TCP or unix, made with pauseOnConnect) emit
 * sockets that already read through `onread`: built once, paused, from the
 * accepted handle, counted in the server's connections as net.Server counts its
 * own. A server using what this does not do (maxConnections, keepAlive, a
 * blockList) keeps Node's accept, as does a Node whose listening handle has no
 * `onconnection`; then false, and adopt() re-wraps what it emits.
 */
export function acceptDirect(server: net.Server, onRead: OnRead): boolean {
  const srv = server as unknown as ServerFields;
  const listening = srv._handle;
  if (listening === null || listening === undefined) return false;
  const nodeAccept = listening.onconnection;
  if (typeof nodeAccept !== 'function' || typeof srv._connections !== 'number') return false;
  const ours = function onconnection(this: ListenHandle, err: number, handle: UserBufferHandle | undefined): void {
    if (err !== 0 || handle === undefined || typeof handle.useUserBuffer !== 'function' ||
      (srv.maxConnections !== undefined && srv.maxConnections !== null) || srv.keepAlive === true ||
      (srv.blockList !== undefined && srv.blockList !== null)) {
      nodeAccept.call(this, err, handle);
      return;
    }
    const sock = readSocket(handle, srv.allowHalfOpen === true, onRead);
    if (srv.noDelay === true) sock.setNoDelay(true);
    srv._connections++;
    const s = sock as unknown as AcceptedSocket;
    s._server = server;
    s.server = server;
    server.emit('connection', sock);
    if (serverSocket.hasSubscribers) serverSocket.publish({ socket: sock });
  };
  listening.onconnection = ours;
  return true;
}
