/**
 * The daemon: builds the cache from Settings, listens where Settings say (TCP on
 * every -l address, or -s's unix socket, or systemd's inherited sockets; TLS with
 * -Z; UDP with -U), and runs one Connection per client. Each transport lives in
 * its own listen-*.ts; this file only decides which ones run and wires them to
 * onConnection().
 *
 * Limits enforced here: -c (over it a client gets memcached's
 * `ERROR Too many open connections` and is closed) and -o idle_timeout (clients
 * quiet for longer are dropped, counted in idle_kicks).
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type tls from 'node:tls';
import { Cache } from '../cache/engine.js';
import { SystemClock } from '../cache/clock.js';
import { LruCrawler } from '../cache/crawler.js';
import { PageMover } from '../cache/page-mover.js';
import type { Settings } from '../config.js';
import type { Logger } from '../log.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../protocol/context.js';
import { TextProtocol } from '../protocol/text.js';
import { outputMemory } from '../protocol/output-pool.js';
import { Connection, type ConnectionHost } from './connection.js';
import { boundPort, hostPort, listenTcp } from './listen-tcp.js';
import { listenAddresses, listenTls, tlsServerOptions } from './listen-tls.js';
import { listenUdp } from './listen-udp.js';
import { listenUnix } from './listen-unix.js';
import { inheritedTransport, listenInherited } from './socket-activation.js';
import { drainAndClose, DRAIN_TIMEOUT_MS, type Closable } from './process.js';

const TOO_MANY = Buffer.from('ERROR Too many open connections\r\n');
/** How often idle connections are looked for (memcached's conn_timeout thread wakes about this often). */
const IDLE_CHECK_MS = 1000;
/** Hash-table migration runs in slices on this timer so no request pays for a whole resize. */
const MAINTAIN_MS = 10;
const MAINTAIN_SLICES = 8;

export interface DaemonOptions {
  /** the process log (winston); -vv traces commands and replies through it */
  log?: Logger;
  /**
   * The `shutdown` command (with -A). Default: raise SIGINT (SIGUSR1 for
   * `shutdown graceful`) as memcached does; cli/ handles those signals.
   */
  onShutdown?: (graceful: boolean) => void;
  /** `verbosity N` changed settings.verbose (e.g. to relevel the logger). */
  onVerbosity?: (level: number) => void;
  /** How long close() lets connections finish writing before cutting them. */
  drainMs?: number;
}

interface Listener {
  id: number;
  addr: string;
  transport: string;
  closable: Closable;
}

export interface Daemon {
  readonly ctx: ServerContext;
  readonly cache: Cache;
  /** The TCP (and TLS) ports listened on, in -l order: the OS's choice where -p was 0. */
  readonly ports: number[];
  /** ports[0], or 0 when there is no TCP listener */
  readonly port: number;
  /** Open client connections. */
  connections(): Iterable<Connection>;
  /** Stops listening, ends every connection (after its queued replies), stops timers. */
  close(): Promise<void>;
}

export async function startDaemon(settings: Settings, opts: DaemonOptions = {}): Promise<Daemon> {
  const clock = new SystemClock();
  const cache = new Cache({
    maxbytes: settings.maxbytes,
    itemSizeMax: settings.itemSizeMax,
    growthFactor: settings.growthFactor,
    chunkSize: settings.chunkSize,
    slabChunkMax: settings.slabChunkMax,
    slabSizes: settings.slabSizes,
    evictToFree: settings.evictToFree,
    useCas: settings.useCas,
    preallocate: settings.preallocate,
    hashpowerInit: settings.hashpowerInit,
    hotLruPct: settings.hotLruPct,
    warmLruPct: settings.warmLruPct,
    clock,
  });
  clock.start();
  const counters = new ServerCounters();
  const conns = new Set<Connection>();
  const listeners: Listener[] = [];
  const tlsServers: tls.Server[] = [];
  let nextId = 0;
  const newId = (): number => ++nextId;

  const ctx: ServerContext = {
    cache,
    settings,
    counters,
    startedAt: clock.processStarted,
    setVerbosity(level: number): void {
      settings.verbose = level;
      opts.onVerbosity?.(level);
    },
    shutdown(graceful: boolean): void {
      if (opts.onShutdown) opts.onShutdown(graceful);
      else process.kill(process.pid, graceful ? 'SIGUSR1' : 'SIGINT');
    },
    connections(): Iterable<Connection> {
      return conns;
    },
    outputMemory,
    refreshCerts(): string | null {
      try {
        const options = tlsServerOptions(settings);
        for (const s of tlsServers) s.setSecureContext(options);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    listeners() {
      return listeners.map((l) => ({
        id: l.id, addr: l.addr, transport: l.transport, secondsSinceLastCmd: clock.now,
      }));
    },
  };

  const host: ConnectionHost = {
    ctx,
    log: opts.log,
    removed(conn: Connection): void {
      if (conns.delete(conn)) counters.curr_connections--;
    },
  };

  const accept = (transport: string, socket: net.Socket): void => {
    if (counters.curr_connections >= settings.maxconns) {
      counters.rejected_connections++;
      socket.on('error', () => {});
      socket.end(TOO_MANY);
      return;
    }
    counters.curr_connections++;
    counters.total_connections++;
    counters.connection_structures = Math.max(counters.connection_structures,
      counters.curr_connections + listeners.length);
    const unix = transport === 'unix';
    const peer = unix ? (settings.socketpath ?? '') : hostPort(socket.remoteAddress, socket.remotePort);
    const local = unix ? undefined : hostPort(socket.localAddress, socket.localPort);
    conns.add(new Connection(socket, host, newId(), transport, peer, local));
  };

  const addListener = (closable: Closable, transport: string, addr: string): void => {
    const id = newId();
    listeners.push({ id, addr, transport, closable });
    if (settings.verbose > 1) opts.log?.debug(`<${id} server listening (${addr})`);
    counters.total_connections++; // memcached counts its listening conns here too
  };

  const ports: number[] = [];
  const udp: dgram.Socket[] = [];
  try {
    if (settings.inheritedFds.length > 0) {
      // systemd bound the sockets: serve on those and bind nothing ourselves
      let servers: net.Server[] = [];
      servers = await listenInherited({
        fds: settings.inheritedFds,
        onConnection: (s, transport) => accept(transport, s),
      });
      for (const s of servers) {
        const t = inheritedTransport(s);
        const a = s.address();
        addListener(s, t, t === 'unix' ? `unix:${typeof a === 'string' ? a : '(inherited)'}` : `tcp:${hostPort(a !== null && typeof a === 'object' ? a.address : undefined, boundPort(s))}`);
        if (t === 'tcp') ports.push(boundPort(s));
      }
    } else if (settings.socketpath !== null) {
      // -s: memcached serves the unix socket only (no TCP, no UDP)
      const s = await listenUnix({
        path: settings.socketpath, mask: settings.accessMask, backlog: settings.backlog,
        onConnection: (sock) => accept('unix', sock),
      });
      addListener(s, 'unix', `unix:${settings.socketpath}`);
    } else {
      for (const a of listenAddresses(settings, settings.port)) {
        const s = a.tls
          ? await listenTls({ host: a.host, port: a.port, backlog: settings.backlog, settings,
            onConnection: (sock) => accept('tls', sock) })
          : await listenTcp({ host: a.host, port: a.port, backlog: settings.backlog,
            onConnection: (sock) => accept('tcp', sock) });
        if (a.tls) tlsServers.push(s as tls.Server);
        const port = boundPort(s);
        ports.push(port);
        const addr = s.address();
        addListener(s, a.tls ? 'tls' : 'tcp', `tcp:${hostPort(typeof addr === 'object' && addr ? addr.address : a.host ?? '*', port)}`);
      }
      if (settings.udpport > 0) {
        for (const a of listenAddresses(settings, settings.udpport)) {
          const h = a.host ?? '0.0.0.0';
          const sock = await listenUdp({
            host: h, port: settings.udpport, cache, counters, nextId: newId,
            makeProtocol: (conn: ProtoConn) => new TextProtocol(ctx, conn),
          });
          udp.push(sock);
          addListener(sock, 'udp', `udp:${hostPort(h, settings.udpport)}`);
        }
      }
    }
  } catch (e) {
    for (const l of listeners) l.closable.close();
    clock.stop();
    throw e;
  }

  const crawler = LruCrawler.of(cache) ?? new LruCrawler(cache, settings);
  if (settings.lruCrawler) crawler.start();
  const mover = PageMover.of(cache) ?? new PageMover(cache, settings);
  if (settings.slabReassign) mover.start();

  const timers: NodeJS.Timeout[] = [];
  const maintain = setInterval(() => {
    for (let i = 0; i < MAINTAIN_SLICES && cache.maintain(); i++);
  }, MAINTAIN_MS);
  maintain.unref();
  timers.push(maintain);
  if (settings.idleTimeout > 0) {
    const idle = setInterval(() => {
      const now = clock.now;
      for (const c of conns) {
        // memcached only kicks clients waiting for a command: not mid-value, not
        // while a long reply is still being taken
        if (c.state === 'conn_new_cmd' && !c.writing && now - c.lastCmd > settings.idleTimeout) {
          counters.idle_kicks++;
          c.destroy();
        }
      }
    }, IDLE_CHECK_MS);
    idle.unref();
    timers.push(idle);
  }

  let closing: Promise<void> | null = null;
  return {
    ctx,
    cache,
    ports,
    port: ports[0] ?? 0,
    connections: () => conns,
    close(): Promise<void> {
      if (closing) return closing;
      for (const t of timers) clearInterval(t);
      crawler.stop();
      mover.stop();
      clock.stop();
      const sockets = [...conns].map((c) => c.socket);
      closing = drainAndClose(listeners.map((l) => l.closable), sockets, opts.drainMs ?? DRAIN_TIMEOUT_MS);
      return closing;
    },
  };
}
