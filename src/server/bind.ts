/**
 * The stream listeners Settings ask for (TCP on every -l address, TLS with -Z, -s's
 * unix socket, or systemd's inherited sockets), bound by one thread, and the same
 * listening sockets served by the other worker threads: each makes its own server
 * over the listening fd (`listen({ fd })`), and the kernel gives each new connection
 * to one of the threads waiting on it. Where Node has SO_REUSEPORT (22.12 and later,
 * on Linux), each thread binds a TCP socket of its own on the port instead, and the
 * kernel spreads connections evenly over them. UDP is not here: the main thread
 * serves it.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Settings } from '../config.js';
import { boundPort, hostPort, listenTcp } from './listen-tcp.js';
import { listenAddresses, listenOn, listenTls, tlsServer } from './listen-tls.js';
import { listenUnix } from './listen-unix.js';
import { inheritedTransport, listenInherited } from './socket-activation.js';
import { EX_OSERR, FatalError } from './process.js';
import { Connection } from './connection.js';

export type StreamTransport = 'tcp' | 'tls' | 'unix';

/** One listening socket as the threads share it: structured-clonable. */
export interface ListenSpec {
  transport: StreamTransport;
  /** as `stats conns` names it, e.g. "tcp:127.0.0.1:11211" */
  addr: string;
  /** the TCP port (0 for unix) */
  port: number;
  /** the listening socket's fd (sharing it is how the other threads listen) */
  fd: number;
  /** systemd passed it in */
  inherited: boolean;
  /** its id in `stats conns`, given when it was bound (before any connection's) */
  id: number;
  /** SO_REUSEPORT: the other threads bind a socket of their own at host:port (fd is unused) */
  reuse?: { host: string | null };
}

export interface Bound extends ListenSpec {
  server: net.Server;
}

export type Accept = (transport: string, socket: net.Socket) => void;

/** The fd under a listening server (private: Node has no public getter). */
function fdOf(server: net.Server): number {
  const fd = (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

let reuseProbe: Promise<boolean> | null = null;

/**
 * Whether listen({ reusePort }) works here: Node 22.12 and later on Linux. Older
 * Nodes take the option and ignore it, so two sockets are bound on one port to see.
 */
export function reusePortWorks(): Promise<boolean> {
  return reuseProbe ??= (async () => {
    if (process.platform !== 'linux') return false;
    const a = net.createServer();
    const b = net.createServer();
    try {
      await listenOn(a, '127.0.0.1', 0, 1, true);
      await listenOn(b, '127.0.0.1', boundPort(a), 1, true);
      return true;
    } catch {
      return false;
    } finally {
      if (a.listening) a.close();
      if (b.listening) b.close();
    }
  })();
}

/** Closes a listening server and waits until it is gone. */
function closed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Binds what Settings ask for, each listener handing its connections to accept.
 * `umask` false: a worker thread binds, and the main thread has set -a's umask.
 * `reusePort`: fresh TCP and TLS listeners get SO_REUSEPORT, so that the other
 * worker threads bind sockets of their own on the same ports (ListenSpec.reuse).
 */
export async function bindListeners(settings: Settings, accept: Accept, newId: () => number, umask = true,
  reusePort = false): Promise<Bound[]> {
  const bound: Bound[] = [];
  try {
    if (settings.inheritedFds.length > 0) {
      // systemd bound the sockets: serve on those and bind nothing ourselves
      const servers = await listenInherited({ fds: settings.inheritedFds, onConnection: (s, t) => accept(t, s) });
      servers.forEach((s, i) => {
        Connection.acceptDirect(s);
        const t = inheritedTransport(s);
        const a = s.address();
        const addr = t === 'unix' ? `unix:${typeof a === 'string' ? a : '(inherited)'}`
          : `tcp:${hostPort(a !== null && typeof a === 'object' ? a.address : undefined, boundPort(s))}`;
        bound.push({ transport: t, addr, port: t === 'tcp' ? boundPort(s) : 0, fd: settings.inheritedFds[i], inherited: true, server: s, id: newId() });
      });
    } else if (settings.socketpath !== null) {
      // -s: memcached serves the unix socket only (no TCP, no UDP)
      const s = await listenUnix({
        path: settings.socketpath, mask: settings.accessMask, backlog: settings.backlog, umask,
        onConnection: (sock) => accept('unix', sock),
      });
      Connection.acceptDirect(s);
      bound.push({ transport: 'unix', addr: `unix:${settings.socketpath}`, port: 0, fd: fdOf(s), inherited: false, server: s, id: newId() });
    } else {
      for (const a of listenAddresses(settings, settings.port)) {
        let port = a.port;
        if (reusePort) {
          // a plain bind first: a port another daemon holds fails here with memcached's
          // words, where a bind with SO_REUSEPORT could silently share it with a daemon
          // of the same user; it also learns the port the OS picks for port 0
          const probe = await listenTcp({ host: a.host, port, backlog: 1, onConnection: (sock) => sock.destroy() });
          port = boundPort(probe);
          await closed(probe);
        }
        const s = a.tls
          ? await listenTls({ host: a.host, port, backlog: settings.backlog, settings, reusePort,
            onConnection: (sock) => accept('tls', sock) })
          : await listenTcp({ host: a.host, port, backlog: settings.backlog, reusePort,
            onConnection: (sock) => accept('tcp', sock) });
        if (!a.tls) Connection.acceptDirect(s);
        port = boundPort(s);
        const addr = s.address();
        bound.push({
          transport: a.tls ? 'tls' : 'tcp', port, fd: fdOf(s), inherited: false, server: s, id: newId(),
          addr: `tcp:${hostPort(typeof addr === 'object' && addr ? addr.address : a.host ?? '*', port)}`,
          ...(reusePort ? { reuse: { host: a.host } } : {}),
        });
      }
    }
  } catch (e) {
    for (const b of bound) b.server.close();
    throw bindFailure(e);
  }
  return bound;
}

/** memcached exits EX_OSERR when it cannot listen (TCP, UDP or unix socket). */
export function bindFailure(e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof FatalError) && (err.syscall === 'bind' || err.syscall === 'listen' || /^failed to listen/.test(err.message))) {
    return new FatalError(err.message, EX_OSERR);
  }
  return e as Error;
}

/**
 * Serves listening sockets another thread bound: a server of our own over each fd,
 * TLS ones with a TLS context of our own.
 */
export async function listenShared(specs: readonly ListenSpec[], settings: Settings, accept: Accept): Promise<Bound[]> {
  const bound: Bound[] = [];
  try {
    for (const spec of specs) {
      const t = spec.transport;
      // paused: the connection takes the handle over before its first read (fast-read.ts)
      const server: net.Server = t === 'tls'
        ? tlsServer(settings, (sock: tls.TLSSocket) => accept('tls', sock))
        : net.createServer({ noDelay: true, pauseOnConnect: true }, (sock) => accept(t, sock));
      if (spec.reuse !== undefined) {
        // a socket of this thread's own on the port, SO_REUSEPORT as the binder's
        await listenOn(server, spec.reuse.host, spec.port, settings.backlog, true);
      } else {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ fd: spec.fd }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      }
      // a listener error after the listen (EMFILE on accept) must not take the thread down
      server.on('error', () => {});
      if (t !== 'tls') Connection.acceptDirect(server);
      bound.push({ ...spec, server });
    }
  } catch (e) {
    for (const b of bound) b.server.close();
    throw e;
  }
  return bound;
}
