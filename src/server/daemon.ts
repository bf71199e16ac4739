/**
 * The daemon: builds the cache from Settings (with -e, loads the snapshot a
 * graceful stop left before it listens), listens where Settings say (TCP on
 * every -l address, or -s's unix socket, or systemd's inherited sockets; TLS with
 * -Z; UDP with -U), and runs one Connection per client. Each transport lives in
 * its own listen-*.ts, binding in bind.ts, the serving of connections (-c,
 * idle_timeout) in front.ts.
 *
 * -t 1: this thread binds and serves everything, as one event loop. -t N: N worker
 * threads (workers.ts, worker.ts) bind and serve the stream listeners over the one
 * engine; this thread keeps process control, the clock, UDP, metrics and the
 * background jobs (crawler, page mover, automove, hash-table migration).
 */
import type dgram from 'node:dgram';
import type tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { Cache } from '../cache/engine.js';
import { consumeSnapshot, loadSnapshot } from '../cache/snapshot-read.js';
import { SystemClock } from '../cache/clock.js';
import type { Settings } from '../config.js';
import type { Logger } from '../log.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../protocol/context.js';
import { counterBytes, daemonState, newCounterSlots } from '../server-context.js';
import { TextProtocol } from '../protocol/text.js';
import { BinaryProtocol } from '../protocol/binary.js';
import { Output } from '../protocol/output.js';
import { adminCommand } from '../protocol/text-jobs.js';
import { outputMemory } from '../protocol/output-pool.js';
import { connRows } from '../stats/conns.js';
import type { Connection } from './connection.js';
import { hostPort } from './listen-tcp.js';
import { listenAddresses, tlsServerOptions } from './listen-tls.js';
import { listenUdp } from './listen-udp.js';
import { bindFailure, bindListeners } from './bind.js';
import { Front, newControl, nextId } from './front.js';
import { LogChannel, peerPorts } from './log-fanout.js';
import { WorkerPool } from './workers.js';
import { drainAndClose, DRAIN_TIMEOUT_MS, FatalError, type Closable } from './process.js';
import { LogHub } from '../log-stream/log-hub.js';

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
  /**
   * Accept but serve no connection until Daemon.open(): the caller has something to
   * do first that clients must not see undone (drop root's privileges).
   */
  hold?: boolean;
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
  /** Starts serving the connections held since the start (DaemonOptions.hold). */
  open(): void;
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

/** Daemons started in this process, for unique channel names. */
let daemonsStarted = 0;

export async function startDaemon(settings: Settings, opts: DaemonOptions = {}): Promise<Daemon> {
  const clock = new SystemClock();
  const threads = settings.numThreads > 1;
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
    // the worker threads attach to it; at -t 1 nobody does, and plain memory copies faster
    sharedMemory: threads,
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
  const ctl = newControl(threads ? settings.numThreads + 1 : 1);
  // names the channels the threads talk on (-c slots freed, watch lines): a
  // BroadcastChannel name is shared only within this process, so a count of the
  // daemons it started tells them apart (node:crypto would cost ~0.8 MB of RSS)
  const channel = `slabcache:${process.pid}:${++daemonsStarted}`;
  // one counter slot per serving thread: at -t N the workers' and, last, the main
  // thread's (UDP, listeners); `stats` sums them
  const countersBuf = threads ? new SharedArrayBuffer(counterBytes(settings.numThreads + 1)) : null;
  const threadCounters = countersBuf === null ? undefined
    : newCounterSlots(settings.numThreads + 1, countersBuf).map((slot) => new ServerCounters(slot));
  const counters = threadCounters?.[settings.numThreads] ?? new ServerCounters();
  const listeners: Listener[] = [];
  const tlsServers: tls.Server[] = [];
  const newId = (): number => nextId(ctl);
  const lock = cache.lock;
  let front: Front | null = null;
  let pool: WorkerPool | null = null;

  const logs = new LogHub(cache, counters, {
    workerBufSize: settings.workerLogbufSize, watcherBufSize: settings.watcherLogbufSize,
  });
  // the background jobs' events (slab moves, evictions they make) reach watchers on the workers
  const peers = threads ? peerPorts(settings.numThreads + 1) : [];
  const logChannel = threads ? new LogChannel(logs, ctl, settings.numThreads, peers[settings.numThreads]) : null;

  const refreshCerts = (): string | null => {
    try {
      const options = tlsServerOptions(settings);
      for (const s of tlsServers) s.setSecureContext(options);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const ctx: ServerContext = {
    cache,
    settings,
    counters,
    threadCounters,
    lockCounts: () => ({ acquisitions: lock.acquisitions, contended: lock.contended }),
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
      return front?.conns ?? [];
    },
    outputMemory,
    refreshCerts() {
      const err = refreshCerts();
      if (err === null) pool?.broadcast({ type: 'refresh_certs' });
      return err;
    },
    listeners() {
      return listeners.map((l) => ({
        id: l.id, addr: l.addr, transport: l.transport, secondsSinceLastCmd: clock.now,
      }));
    },
  };

  const addListener = (closable: Closable, transport: string, addr: string, id = newId()): void => {
    listeners.push({ id, addr, transport, closable });
    if (settings.verbose > 1) opts.log?.debug(`<${id} server listening (${addr})`);
    counters.total_connections++; // memcached counts its listening conns here too
  };

  const ports: number[] = [];
  const udp: Array<{ sock: dgram.Socket; addr: string }> = [];
  const bindUdp = async (): Promise<void> => {
    if (settings.udpport > 0 && settings.socketpath === null && settings.inheritedFds.length === 0) {
      for (const a of listenAddresses(settings, settings.udpport)) {
        const h = a.host ?? '0.0.0.0';
        const sock = await listenUdp({
          host: h, port: settings.udpport, cache, counters, nextId: newId, lock,
          makeProtocol: (conn: ProtoConn) => new TextProtocol(ctx, conn),
          // -B ascii refuses binary everywhere, UDP included
          makeBinaryProtocol: settings.protocol === 'ascii' ? undefined : (conn: ProtoConn) => new BinaryProtocol(ctx, conn),
        });
        udp.push({ sock, addr: `udp:${hostPort(h, settings.udpport)}` });
      }
    }
  };
  try {
    if (threads) {
      // UDP first: the stream listeners take clients as soon as the first worker binds,
      // and a client told the daemon is up may send datagrams at once
      await bindUdp();
      // the workers bind and serve every stream listener; this thread serves none
      pool = await WorkerPool.start({
        settings, shared: cache.shared, ctl, counters: countersBuf!, log: opts.log, channel, peers, hold: opts.hold === true,
        main: {
          shutdown: (graceful) => ctx.shutdown(graceful),
          settingsChanged: (patch) => {
            if (patch.verbose !== undefined) opts.onVerbosity?.(settings.verbose);
          },
          admin: (words) => {
            // a crawl, a page move or lru tune reads the tables workers change
            lock.enter();
            try {
              return adminCommand(ctx, { out: new Output(cache) } as unknown as ProtoConn, words, false) ?? 'ERROR';
            } finally {
              lock.exit();
            }
          },
          connRows: () => connRows(ctx),
          detailRows: () => ctx.stats.prefix.entries(),
          reset: () => ctx.stats.prefix.clear(),
          refreshCerts: () => void refreshCerts(),
        },
      });
      for (const spec of pool.specs) {
        addListener({ close: (cb?: () => void) => cb?.() }, spec.transport, spec.addr, spec.id);
        if (spec.transport !== 'unix') ports.push(spec.port);
      }
    } else {
      const f = new Front({ ctx, log: opts.log, ctl, listeners: () => listeners.length });
      front = f;
      if (opts.hold === true) f.hold();
      for (const b of await bindListeners(settings, f.accept, newId)) {
        if (b.transport === 'tls') tlsServers.push(b.server as tls.Server);
        addListener(b.server, b.transport, b.addr, b.id);
        if (b.transport !== 'unix') ports.push(b.port);
      }
      await bindUdp();
    }
    // listed after the stream listeners, as memcached numbers them
    for (const u of udp) addListener(u.sock, 'udp', u.addr);
  } catch (e) {
    for (const l of listeners) l.closable.close();
    for (const u of udp) if (!listeners.some((l) => l.closable === u.sock)) u.sock.close();
    await pool?.close(0);
    clock.stop();
    throw bindFailure(e);
  }

  // serving from here: the snapshot is spent, whatever came of it (memcached removes
  // its .meta); a start that failed to bind above left it for the next attempt
  // (with workers, the one that binds spends it as soon as it has: clients may come at once)
  if (settings.memoryFile !== null && !threads) consumeSnapshot(settings.memoryFile);

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
  // a migration slice moves buckets other threads' requests walk: under the lock
  const maintain1 = (): boolean => {
    lock.enter();
    try {
      return cache.maintain();
    } finally {
      lock.exit();
    }
  };
  const migrate = (): void => {
    let more = true;
    for (let i = 0; i < MAINTAIN_SLICES && more; i++) more = maintain1();
    if (!more && migrating !== null) {
      clearInterval(migrating);
      migrating = null;
    }
  };
  const maintain = setInterval(() => {
    if (migrating !== null || !maintain1()) return;
    migrating = setInterval(migrate, MAINTAIN_MS);
    migrating.unref();
  }, MAINTAIN_CHECK_MS);
  maintain.unref();
  timers.push(maintain);

  let closing: Promise<void> | null = null;
  return {
    ctx,
    cache,
    ports,
    port: ports[0] ?? 0,
    metricsPort: metrics?.port ?? 0,
    connections: () => front?.conns ?? [],
    open(): void {
      front?.open();
      pool?.broadcast({ type: 'open' });
    },
    close(): Promise<void> {
      if (closing) return closing;
      void metrics?.close();
      for (const t of timers) clearInterval(t);
      if (migrating !== null) clearInterval(migrating);
      crawler.stop();
      mover.stop();
      clock.stop();
      // the replies already made still go out, but nothing more is run: a request
      // read from here would change the cache with no one told, and -e saves it;
      // with workers, each drains its own connections and has ended when this resolves
      const sockets = front?.stop() ?? [];
      const drainMs = opts.drainMs ?? DRAIN_TIMEOUT_MS;
      closing = Promise.all([
        pool?.close(drainMs),
        drainAndClose(listeners.map((l) => l.closable), sockets, drainMs),
      ]).then(() => logChannel?.close());
      return closing;
    },
  };
}
