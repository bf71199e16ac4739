/**
 * Polls for tests that run the daemon in-process and look at its connections
 * directly (the fast read and write paths): what no reply on the wire can show.
 */
import type { Connection } from '../../src/server/connection.js';
import type { Daemon } from '../../src/server/daemon.js';

/** Resolves once cond() holds; fails, naming `what`, after timeoutMs. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The daemon's one connection; throws if it has none or several. */
export function only(d: Daemon): Connection {
  const all = [...d.connections()];
  if (all.length !== 1) throw new Error(`expected one connection, have ${all.length}`);
  return all[0];
}
