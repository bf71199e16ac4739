/**
 * systemd socket activation (sd_listen_fds(3)): systemd binds the sockets named
 * in slabcache.socket, starts us on the first connection, and passes the
 * listening sockets as fds 3, 4, ... with LISTEN_FDS=count and LISTEN_PID=our
 * pid. We serve on them instead of binding, so a restart loses no connection
 * attempt and the daemon needs no privilege to use port 11211 or /run paths.
 *
 * cli/ reads the environment and passes the values in (nothing below cli/ reads
 * process.env); this module only interprets them and listens.
 */
import net from 'node:net';

/** SD_LISTEN_FDS_START */
export const SD_LISTEN_FDS_START = 3;

/**
 * The inherited fds, as sd_listen_fds() computes them: none unless LISTEN_PID is
 * our pid (the variables may have leaked from a parent) and LISTEN_FDS is a
 * positive count.
 */
export function sdListenFds(listenPid: string | undefined, listenFds: string | undefined, pid: number): number[] {
  if (listenPid === undefined || listenFds === undefined) return [];
  if (!/^[0-9]+$/.test(listenPid) || Number(listenPid) !== pid) return [];
  if (!/^[0-9]+$/.test(listenFds)) return [];
  const n = Number(listenFds);
  const fds: number[] = [];
  for (let i = 0; i < n; i++) fds.push(SD_LISTEN_FDS_START + i);
  return fds;
}

export interface InheritedListenOptions {
  fds: number[];
  /**
   * transport: "tcp" or "unix", the kind of inherited socket the client came in on.
   * The socket comes paused: nothing is read until it is resumed or adopted.
   */
  onConnection: (socket: net.Socket, transport: 'tcp' | 'unix') => void;
}

/**
 * Serves on every inherited listening socket (TCP or unix stream). A datagram or
 * non-listening fd is refused with a message naming it: Node cannot adopt a UDP
 * socket from an fd, so slabcache.socket must list stream sockets only.
 */
export async function listenInherited(opts: InheritedListenOptions): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  try {
    for (const fd of opts.fds) {
      // paused: the connection takes the handle over before its first read (fast-read.ts)
      const server = net.createServer({ pauseOnConnect: true }, (socket) => opts.onConnection(socket, inheritedTransport(server)));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: Error) => {
          reject(new Error(`failed to serve inherited socket fd ${fd}: ${err.message} (stream sockets only)`));
        });
        server.listen({ fd }, () => resolve());
      });
      servers.push(server);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return servers;
}

/**
 * "tcp" or "unix", for a server made by listenInherited (logs, stats). A TCP
 * socket reports its address as an object; an adopted unix socket has no name
 * Node knows (address() is null), or a string.
 */
export function inheritedTransport(server: net.Server): 'tcp' | 'unix' {
  const a = server.address();
  return a !== null && typeof a === 'object' ? 'tcp' : 'unix';
}
