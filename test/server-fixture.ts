/**
 * Our daemon in-process for server and text-protocol tests: real sockets on a
 * loopback port the OS picks, closed by the test's teardown.
 */
import type { ExecutionContext } from 'ava';
import { defaultSettings, type Settings } from '../src/config.js';
import { startDaemon, type Daemon } from '../src/server/daemon.js';

export interface TestDaemon extends Daemon {
  /** graceful flags of `shutdown` commands received */
  shutdowns: boolean[];
}

/**
 * -t 1 unless `over` says otherwise: these tests look at the serving thread's own
 * Connection objects and counters (d.connections(), d.ctx.counters), which exist
 * only on the thread that serves them. Daemons started through helpers/memcached.ts
 * (bin/slabcache.js) run the default -t 4. A stop waits `drainMs` for replies to
 * drain before it drops what is left: short, so that teardowns are quick; a test
 * of the drain itself passes the daemon's own DRAIN_TIMEOUT_MS.
 */
export async function daemon(t: ExecutionContext, over: Partial<Settings> = {}, drainMs = 200): Promise<TestDaemon> {
  const settings: Settings = {
    ...defaultSettings(), numThreads: 1, port: 0, interfaces: ['127.0.0.1'], lruCrawler: false, ...over,
  };
  const shutdowns: boolean[] = [];
  const d = await startDaemon(settings, { onShutdown: (g) => shutdowns.push(g), drainMs });
  t.teardown(() => d.close());
  return Object.assign(d, { shutdowns });
}
