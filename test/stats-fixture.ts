/**
 * Builds what stats and admin code needs without a daemon: a Cache with a ManualClock
 * made from a Settings object, a minimal ServerContext and a ProtoConn; and helpers
 * to ask a real memcached the same questions over a socket.
 */
import type { ExecutionContext } from 'ava';
import { Cache } from '../src/cache/engine.js';
import { ManualClock } from '../src/cache/clock.js';
import { defaultSettings, type Settings } from '../src/config.js';
import { ServerCounters, type ProtoConn, type ServerContext } from '../src/protocol/context.js';
import { Output } from '../src/protocol/output.js';
import { daemonState } from '../src/server-context.js';
import { parseArgs } from '../src/cli/flags.js';
import { startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';

export interface Fixture {
  ctx: ServerContext;
  cache: Cache;
  clock: ManualClock;
  settings: Settings;
  conn: ProtoConn;
}

export function cacheFor(settings: Settings, clock = new ManualClock()): Cache {
  return new Cache({
    maxbytes: settings.maxbytes, itemSizeMax: settings.itemSizeMax, growthFactor: settings.growthFactor,
    chunkSize: settings.chunkSize, slabChunkMax: settings.slabChunkMax, evictToFree: settings.evictToFree,
    useCas: settings.useCas, preallocate: settings.preallocate, hashpowerInit: settings.hashpowerInit,
    hotLruPct: settings.hotLruPct, warmLruPct: settings.warmLruPct, clock,
  });
}

/** A fixture from memcached-style flags (parsed by the real CLI parser) or a Settings patch. */
export function makeFixture(flags: string[] | Partial<Settings> = []): Fixture {
  const settings = Array.isArray(flags) ? parseArgs(flags) : { ...defaultSettings(), ...flags };
  const clock = new ManualClock(Math.floor(Date.now() / 1000) - 2);
  const cache = cacheFor(settings, clock);
  const conns: Array<ProtoConn & { state: string; secondsSinceLastCmd: number }> = [];
  const ctx: ServerContext = {
    cache, settings, counters: new ServerCounters(), startedAt: clock.processStarted + 2, ...daemonState(cache, settings),
    setVerbosity: () => undefined, shutdown: () => undefined, connections: () => conns,
  };
  const conn = {
    out: new Output(cache), id: 24, transport: 'tcp', peer: '127.0.0.1:40000', local: '127.0.0.1:11211',
    closeAfterWrite: () => undefined, closing: false, authenticated: true,
    state: 'conn_parse_cmd', secondsSinceLastCmd: 0,
  };
  conns.push(conn);
  return { ctx, cache, clock, settings, conn };
}

/** "STAT a b\r\n..." into pairs (END and anything else dropped). */
export function parseStats(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\r\n')) {
    const m = /^STAT (\S+) (.*)$/.exec(line);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

export const names = (pairs: Array<[string, string]>): string[] => pairs.map((p) => p[0]);
export const asMap = (pairs: Array<[string, string]>): Map<string, string> => new Map(pairs);

export type Ask = (req: string, until?: string) => Promise<string>;

/** A real memcached with `flags`, and a function that sends a request and reads one reply. */
export async function memcached(t: ExecutionContext, flags: string[] = []): Promise<Ask> {
  return asker(t, await startMemcached(t, flags));
}

/** Our daemon (bin/slabcache.js) with `flags`, asked the same way. */
export async function slabcache(t: ExecutionContext, flags: string[] = []): Promise<Ask> {
  return asker(t, await startSlabcache(t, flags));
}

async function asker(t: ExecutionContext, server: TestServer): Promise<Ask> {
  const client = await RawClient.connect(server.port, server.host);
  t.teardown(() => client.close());
  return async (req: string, until = 'END\r\n') => {
    await client.send(req);
    // a reply ends with `until`, or is one line that is not a STAT line
    const r = await client.waitFor((b) => {
      const s = b.toString('latin1');
      const i = s.indexOf(until);
      if (i >= 0) return i + until.length;
      const nl = s.indexOf('\r\n');
      if (nl >= 0 && !s.startsWith('STAT ') && !s.startsWith('ITEM ') && !s.startsWith('key=') && !s.startsWith('PREFIX ')) return nl + 2;
      return -1;
    }, 3000);
    return r.bytes.toString('latin1');
  };
}

/** Our reply as the text protocol would send it (report.ts's contract). */
export function asText(r: Array<[string, string]> | string | null): string {
  if (r === null) return '<null>';
  if (typeof r === 'string') return r === '' ? '' : r.endsWith('\r\n') ? r : r + '\r\n';
  return r.map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n';
}
