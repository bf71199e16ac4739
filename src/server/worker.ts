/**
 * One worker thread of -t N: attaches to the engine the main thread built, serves
 * every stream listener (the first worker binds them, the others listen on the
 * same sockets), and runs its connections completely: parse, engine call (under
 * the engine lock), reply. What only the main thread or all threads can answer
 * goes to the main thread as a message (workers.ts).
 */
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { Cache } from '../cache/engine.js';
import { consumeSnapshot } from '../cache/snapshot-read.js';
import { createLogger, levelFor } from '../log.js';
import {
  counterSlots, ServerCounters, type ConnRow, type RemoteCalls, type ServerContext,
} from '../server-context.js';
import { daemonState } from '../server-context.js';
import { LogHub } from '../log-stream/log-hub.js';
import { outputMemory } from '../protocol/output-pool.js';
import { connRows } from '../stats/conns.js';
import type { PrefixEntry } from '../stats/detail.js';
import { bindListeners, listenShared, reusePortWorks, type Bound, type ListenSpec } from './bind.js';
import { CTL_CLOSING, Front, nextId } from './front.js';
import { LogChannel } from './log-fanout.js';
import { drainAndClose, FatalError } from './process.js';
import { tlsServerOptions } from './listen-tls.js';
import { settingsPatch, type ToMain, type ToWorker, type WorkerData } from './workers.js';
import type tls from 'node:tls';

const data = workerData as WorkerData;
const port = parentPort!;
const settings = data.settings;
const send = (m: ToMain): void => port.postMessage(m);

// the same engine as every thread's: its clock reads the time the main thread keeps
const cache = Cache.attach(data.shared);
const clock = cache.clock;
const all = counterSlots(settings.numThreads + 1, data.counters).map((s) => new ServerCounters(s));
const counters = all[data.index];
const log = createLogger(data.verbose);
const logs = new LogHub(cache, counters, {
  workerBufSize: settings.workerLogbufSize, watcherBufSize: settings.watcherLogbufSize,
});
const lock = cache.lock;
// a watcher here sees every thread's events, and watchers elsewhere see ours
const logChannel = new LogChannel(logs, data.ctl, data.index, data.peers);

// calls the main thread answers: each waits for its `answer`
let nextCall = 0;
const calls = new Map<number, (value: unknown) => void>();
const call = <T>(op: 'admin' | 'conns' | 'detail' | 'memory', words?: string[]): Promise<T> => new Promise<T>((resolve) => {
  const id = ++nextCall;
  calls.set(id, resolve as (value: unknown) => void);
  send({ type: 'call', id, op, words });
});
const remote: RemoteCalls = {
  admin: (words) => call<string>('admin', words),
  conns: () => call<ConnRow[]>('conns'),
  detail: () => call<PrefixEntry[]>('detail'),
  memory: () => call<Array<{ held: number; chunks: number; pooled: number }>>('memory'),
  reset: () => send({ type: 'reset' }),
};

let bound: Bound[] = [];
let sent = settingsPatch(settings);
const ctx: ServerContext = {
  cache,
  settings,
  counters,
  threadCounters: all,
  lockCounts: () => ({ acquisitions: lock.acquisitions, contended: lock.contended }),
  ...daemonState(cache, settings),
  logs,
  remote,
  startedAt: clock.processStarted,
  setVerbosity(level: number): void {
    settings.verbose = level;
    log.level = levelFor(level);
  },
  settingsChanged(): void {
    const patch = settingsPatch(settings, sent);
    if (Object.keys(patch).length === 0) return;
    sent = settingsPatch(settings);
    send({ type: 'settings', patch });
  },
  shutdown(graceful: boolean): void {
    send({ type: 'shutdown', graceful });
  },
  connections: () => front.conns,
  outputMemory,
  refreshCerts(): string | null {
    const err = refreshLocal();
    if (err === null) send({ type: 'refresh_certs' });
    return err;
  },
};

function refreshLocal(): string | null {
  try {
    const options = tlsServerOptions(settings);
    for (const b of bound) if (b.transport === 'tls') (b.server as tls.Server).setSecureContext(options);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

// threads holding clients over -c hear here when a slot frees on another thread
const slots = new BroadcastChannel(data.channel);
slots.unref();
slots.onmessage = () => front.admitHeld();
const front = new Front({
  ctx, log, ctl: data.ctl, listeners: () => bound.length,
  slotFreed: settings.maxconnsFast ? undefined : () => slots.postMessage(0),
});

if (data.hold) front.hold();

async function listen(specs: ListenSpec[]): Promise<void> {
  bound = await listenShared(specs, settings, front.accept);
  send({ type: 'ready' });
}

/** How long a worker waits at the close barrier for the others (a stuck one is not waited for). */
const CLOSE_BARRIER_MS = 2000;

/**
 * Every worker's listener wraps the same fd numbers (listen({ fd })), and the first
 * close frees them: a connection accepted meanwhile on another listener, by a
 * worker that has not closed yet, could get a freed number and be closed by that
 * worker's own close of it. So no worker closes until all have stopped here; then
 * each closes its listeners straight away, with no turn of its event loop (and so
 * no accept) in between. The main thread has closed its metrics listener first.
 */
function closeBarrier(): void {
  const ctl = data.ctl;
  const n = settings.numThreads;
  Atomics.add(ctl, CTL_CLOSING, 1);
  Atomics.notify(ctl, CTL_CLOSING);
  const deadline = Date.now() + CLOSE_BARRIER_MS;
  for (;;) {
    const arrived = Atomics.load(ctl, CTL_CLOSING);
    const left = deadline - Date.now();
    if (arrived >= n || left <= 0) return;
    Atomics.wait(ctl, CTL_CLOSING, arrived, left);
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'listen':
      listen(m.specs).catch((e: Error) => send({ type: 'failed', message: e.message, exitCode: 1 }));
      return;
    case 'settings': {
      Object.assign(settings, m.patch);
      sent = settingsPatch(settings);
      if (m.patch.verbose !== undefined) log.level = levelFor(settings.verbose);
      // the engine's own tunables (lru tune, mode) are in its shared block already
      return;
    }
    case 'refresh_certs':
      refreshLocal();
      return;
    case 'open':
      front.open();
      return;
    case 'answer': {
      const done = calls.get(m.id);
      calls.delete(m.id);
      done?.(m.value);
      return;
    }
    case 'rows?':
      send({
        type: 'rows', id: m.id,
        rows: m.what === 'conns' ? connRows(ctx) : m.what === 'detail' ? ctx.stats.prefix.entries() : [outputMemory()],
      });
      return;
    case 'reset':
      ctx.stats.prefix.clear();
      return;
    case 'close': {
      closeBarrier();
      const sockets = front.stop();
      void drainAndClose(bound.map((b) => b.server), sockets, m.drainMs).then(() => {
        slots.close();
        logChannel.close();
        send({ type: 'closed' });
        port.close();
      });
      return;
    }
    default:
  }
});

if (data.binder) {
  reusePortWorks().then((reuse) => bindListeners(settings, front.accept, () => nextId(data.ctl), false, reuse)).then((b) => {
    bound = b;
    // serving from here: the -e snapshot is spent, whatever came of it (daemon.ts)
    if (settings.memoryFile !== null) consumeSnapshot(settings.memoryFile);
    send({ type: 'bound', specs: b.map(({ server: _s, ...spec }) => spec) });
    send({ type: 'ready' });
  }, (e: Error) => {
    send({ type: 'failed', message: e.message, exitCode: e instanceof FatalError ? e.exitCode : 1 });
  });
}
