/**
 * `stats threads` (slabcache's own; memcached has none): for each worker thread i,
 * its open and total connections, then how often the engine lock was taken and how
 * often a taker had to wait for it (all threads), which says whether one engine
 * lock is enough (README, "Threads"). At -t 1 the main thread is worker 0.
 */
import type { ServerContext } from '../server-context.js';
import { Pairs, u } from './util.js';

export function threadsStats(ctx: ServerContext): Pairs {
  const all = ctx.threadCounters;
  // at -t N the main thread's slot comes last: it serves UDP, not connections
  const workers = all === undefined ? [ctx.counters] : all.slice(0, ctx.settings.numThreads);
  const out: Pairs = [];
  workers.forEach((c, i) => {
    out.push([`${i}:curr_connections`, u(c.curr_connections)]);
    out.push([`${i}:total_connections`, u(c.total_connections)]);
  });
  const lock = ctx.lockCounts?.() ?? { acquisitions: 0, contended: 0 };
  out.push(['lock_acquisitions', u(lock.acquisitions)]);
  out.push(['lock_contended', u(lock.contended)]);
  return out;
}
