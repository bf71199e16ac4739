/**
 * Plain TCP listeners (`-l ADDR -p PORT`). Port 0 takes a port from the OS; the
 * daemon reads the one it got from the server's address().
 */
import net from 'node:net';
import { listenOn } from './listen-tls.js';

export interface TcpListenOptions {
  /** null: every address (`-l *`) */
  host: string | null;
  port: number;
  backlog: number;
  /** SO_REUSEPORT: each worker thread binds a socket of its own on the port */
  reusePort?: boolean;
  /** gets each accepted socket paused: nothing is read until it is resumed or adopted */
  onConnection: (socket: net.Socket) => void;
}

/** strerror() wording for the bind errors people meet, as memcached prints them. */
const STRERROR: Record<string, string> = {
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EACCES: 'Permission denied',
  EAFNOSUPPORT: 'Address family not supported by protocol',
};

export async function listenTcp(opts: TcpListenOptions): Promise<net.Server> {
  // paused: the connection takes the handle over before its first read (fast-read.ts)
  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, opts.onConnection);
  try {
    await listenOn(server, opts.host, opts.port, opts.backlog, opts.reusePort);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = (err.code && STRERROR[err.code]) ?? err.message;
    throw new Error(`failed to listen on TCP port ${opts.port}: ${why}`);
  }
  // a listener error after bind (EMFILE on accept) must not take the daemon down
  server.on('error', () => {});
  return server;
}

/** The port a listening TCP server got (the OS's choice for port 0). */
export function boundPort(server: net.Server): number {
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

/** "127.0.0.1:11211" or "[::1]:11211", as `stats conns` prints addresses. */
export function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '';
  const a = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  return net.isIPv6(a) ? `[${a}]:${port}` : `${a}:${port}`;
}

/** A socket's handle, as net.Socket asks it for its addresses. */
interface NameHandle {
  getpeername?(out: { address?: string; port?: number }): number;
  getsockname?(out: { address?: string; port?: number }): number;
}

/**
 * "host:port" of the socket's peer (or, `local`, of its own end), as hostPort()
 * writes it. Asked of the handle where it can be: socket.remoteAddress keeps what
 * it learns on the socket (an object and its strings), which an idle connection
 * would carry for its whole life only to print the address it already holds.
 */
export function socketName(socket: net.Socket, local: boolean): string {
  const h = (socket as unknown as { _handle?: NameHandle | null })._handle;
  const ask = local ? h?.getsockname : h?.getpeername;
  if (typeof ask === 'function') {
    const out: { address?: string; port?: number } = {};
    if (ask.call(h, out) === 0) return hostPort(out.address, out.port);
  }
  return local ? hostPort(socket.localAddress, socket.localPort) : hostPort(socket.remoteAddress, socket.remotePort);
}
