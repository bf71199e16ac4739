/**
 * The daemon: builds the cache from Settings (with -e, loads the snapshot a
 * graceful stop left before it listens), listens where Settings say (TCP on
 * every -l address, or -s's unix socket, or systemd's inherited sockets; TLS with
 * -Z; UDP with -U), and runs one Connection per client. Each transport lives in
 * its own listen-*.ts; this file only decides which ones run and wires them to
 * onConnection().
 *
 * Limits enforced here: -c (over it a client gets memcached's
 * `ERROR Too many open connections` and is closed; with -o no_maxconns_fast it is
 * held, unread and unanswered, until a connection closes, as memcached stops
 * accepting) and -o idle_timeout (clients quiet for longer are dropped, counted in
 * idle_kicks).
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { Cache } from '../cache/engine.js';
import { consumeSnapshot, loadSnapshot } from '../cache/snapshot-read.js';
import { SystemClock } from '../cache/clock.js';
import type { Settings } from '../config.js';
import type { Logger } from '../log.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../protocol/context.js';
import { daemonState } from '../server-context.js';
import { TextProtocol } from '../protocol/text.js';
import { BinaryProtocol } from '../protocol/binary.js';
import { outputMemory } from '../protocol/output-pool.js';
import { Connection, type ConnectionHost } from './connection.js';
import { boundPort, hostPort, listenTcp } from './listen-tcp.js';
import { listenAddresses, listenTls, tlsServerOptions } from './listen-tls.js';
import { listenUdp } from './listen-udp.js';
import { listenUnix } from './listen-unix.js';
import { inheritedTransport, listenInherited } from './socket-activation.js';
import { drainAndClose, DRAIN_TIMEOUT_MS, EX_OSERR, FatalError, type Closable } from './process.js';
import { LogHub } from '../log-stream/log-hub.js';

const TOO_MANY = Buffer.from('ERROR Too many open connections\r\n');
/** How often idle connections are looked for (memcached's conn_timeout thread wakes about this often). */
const IDLE_CHECK_MS = 1000;
/**
 * Hash-table migration runs in slices on a timer so no request pays for a whole
 * resize. Whether there is any is looked at once a second (memcached's clock tick),
 * so an idle daemon does not wake 100 times a second; while a table moves, a slice
 * runs every MAINTAIN_MS (inserts meanwhile move a few buckets each).
 */
const MAINTAIN_CHECK_MS = 1000;
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
  /** where GET /metrics is served (-o metrics_port), 0 when metrics are off */
  readonly metricsPort: number;
  /** Open client connections. */
  connections(): Iterable<Connection>;
  /** Stops listening, ends every connection (after its queued replies), stops timers. */
  close(): Promise<void>;
}

/**
 * -e names a file in a directory we must be able to write at stop: say so now,
 * not after a day of serving, when the save would fail and the cache be lost.
 */
function checkSnapshotDir(file: string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FatalError(`-e ${file}: cannot write snapshots in ${dir} (${why})`);
  }
}

export async function startDaemon(settings: Settings, opts: DaemonOptions = {}): Promise<Daemon> {
  const clock = new SystemClock();
  const makeCache = (): Cache => new Cache({
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
    lruSegmented: settings.lruSegmented,
    hotMaxFactor: settings.hotMaxFactor,
    warmMaxFactor: settings.warmMaxFactor,
    tailRepairTime: settings.tailRepairTime,
    hashExpand: !settings.noHashexpand,
    hashAlgorithm: settings.hashAlgorithm,
    clock,
  });
  let cache = makeCache();
  if (settings.memoryFile !== null) {
    // -e: the snapshot a graceful stop left is loaded before we listen, so no client
    // ever sees the cache half loaded
    checkSnapshotDir(settings.memoryFile);
    const loaded = await loadSnapshot(cache, clock, settings.memoryFile, settings);
    for (const l of loaded.lines) {
      if (l.level === 'warn') opts.log?.warn(l.text);
      else opts.log?.info(l.text);
    }
    if (!loaded.restored && loaded.touched) cache = makeCache();
  }
  clock.start();
  const counters = new ServerCounters();
  const conns = new Set<Connection>();
  const listeners: Listener[] = [];
  const tlsServers: tls.Server[] = [];
  let nextId = 0;
  const newId = (): number => ++nextId;

  const logs = new LogHub(cache, counters, {
    workerBufSize: settings.workerLogbufSize, watcherBufSize: settings.watcherLogbufSize,
  });

  const ctx: ServerContext = {
    cache,
    settings,
    counters,
    ...daemonState(cache, settings),
    logs,
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

  /**
   * -o no_maxconns_fast: connections over -c, oldest first. memcached stops accepting
   * (listen backlog 0) until a connection closes, so a client over the limit waits with
   * no reply; Node cannot stop a listener accepting, so these are accepted and left
   * unread until a slot frees.
   */
  const held: Array<{ transport: string; socket: net.Socket }> = [];
  let disabledSince = 0n;
  const accepting = (): void => {
    counters.accepting_conns = 1;
    counters.time_in_listen_disabled_us += Number((process.hrtime.bigint() - disabledSince) / 1000n);
  };
  const admitHeld = (): void => {
    while (held.length > 0 && counters.curr_connections < settings.maxconns) {
      const next = held.shift()!;
      if (!next.socket.destroyed) accept(next.transport, next.socket);
    }
    if (held.length === 0 && counters.accepting_conns === 0) accepting();
  };

  const host: ConnectionHost = {
    ctx,
    log: opts.log,
    removed(conn: Connection): void {
      if (conns.delete(conn)) counters.curr_connections--;
      if (held.length > 0) admitHeld();
    },
  };

  const accept = (transport: string, socket: net.Socket): void => {
    if (counters.curr_connections >= settings.maxconns) {
      if (!settings.maxconnsFast) {
        if (held.length === 0) {
          // one episode of "not accepting", as memcached counts listen_disabled_num
          counters.listen_disabled_num++;
          counters.accepting_conns = 0;
          disabledSince = process.hrtime.bigint();
        }
        const entry = { transport, socket };
        held.push(entry);
        socket.on('error', () => {});
        socket.once('close', () => {
          const i = held.indexOf(entry);
          if (i >= 0) held.splice(i, 1);
          if (held.length === 0 && counters.accepting_conns === 0) accepting();
        });
        return;
      }
      counters.rejected_connections++;
      socket.on('error', () => {});
      socket.resume(); // listeners pause on connect: read (and drop) until the client's FIN
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
            // -B ascii refuses binary everywhere, UDP included
            makeBinaryProtocol: settings.protocol === 'ascii' ? undefined : (conn: ProtoConn) => new BinaryProtocol(ctx, conn),
          });
          udp.push(sock);
          addListener(sock, 'udp', `udp:${hostPort(h, settings.udpport)}`);
        }
      }
    }
  } catch (e) {
    for (const l of listeners) l.closable.close();
    clock.stop();
    // memcached exits EX_OSERR when it cannot listen (TCP, UDP or unix socket)
    const err = e as NodeJS.ErrnoException;
    if (!(e instanceof FatalError) && (err.syscall === 'bind' || err.syscall === 'listen' || /^failed to listen/.test(err.message))) {
      throw new FatalError(err.message, EX_OSERR);
    }
    throw e;
  }

  // serving from here: the snapshot is spent, whatever came of it (memcached removes
  // its .meta); a start that failed to bind above left it for the next attempt
  if (settings.memoryFile !== null) consumeSnapshot(settings.memoryFile);

  // -o metrics_port: imported only when on, so without it nothing listens and
  // prom-client is never loaded
  let metrics: { port: number; close(): Promise<void> } | null = null;
  if (settings.metricsPort > 0) {
    try {
      const { startMetrics } = await import('../metrics/metrics-http.js');
      metrics = await startMetrics(ctx, settings.metricsAddr, settings.metricsPort);
    } catch (e) {
      for (const l of listeners) l.closable.close();
      clock.stop();
      throw new Error(`failed to serve metrics on ${settings.metricsAddr}:${settings.metricsPort}: ${(e as Error).message}`);
    }
    if (settings.verbose > 1) opts.log?.debug(`metrics listening (http://${hostPort(settings.metricsAddr, metrics.port)}/metrics)`);
  }

  const { crawler, mover } = ctx;
  if (settings.lruCrawler) crawler.start();
  if (settings.slabReassign) mover.start();

  const timers: NodeJS.Timeout[] = [];
  let migrating: NodeJS.Timeout | null = null;
  const migrate = (): void => {
    let more = true;
    for (let i = 0; i < MAINTAIN_SLICES && more; i++) more = cache.maintain();
    if (!more && migrating !== null) {
      clearInterval(migrating);
      migrating = null;
    }
  };
  const maintain = setInterval(() => {
    if (migrating !== null || !cache.maintain()) return;
    migrating = setInterval(migrate, MAINTAIN_MS);
    migrating.unref();
  }, MAINTAIN_CHECK_MS);
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
          c.closeReason = 'idle_timeout';
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
    metricsPort: metrics?.port ?? 0,
    connections: () => conns,
    close(): Promise<void> {
      if (closing) return closing;
      void metrics?.close();
      for (const t of timers) clearInterval(t);
      if (migrating !== null) clearInterval(migrating);
      crawler.stop();
      mover.stop();
      clock.stop();
      // the replies already made still go out, but nothing more is run: a request
      // read from here would change the cache with no one told, and -e saves it
      for (const c of conns) c.closeAfterWrite();
      const sockets = [...conns].map((c) => c.socket);
      closing = drainAndClose(listeners.map((l) => l.closable), sockets, opts.drainMs ?? DRAIN_TIMEOUT_MS);
      return closing;
    },
  };
}
