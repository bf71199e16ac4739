/**
 * An in-process rig for MetaCommands.handle(): a MetaCommands over an engine with
 * a ManualClock and a fake connection; feed() runs the same line loop the text
 * protocol does (whole lines, `ms` waiting for its data) and returns the replies.
 */
import { Cache } from '../src/cache/engine.js';
import { ManualClock } from '../src/cache/clock.js';
import { Output } from '../src/protocol/output.js';
import { ProtoConn, ServerContext, ServerCounters } from '../src/protocol/context.js';
import { daemonState } from '../src/server-context.js';
import type { Settings } from '../src/config.js';
import { MetaCommands } from '../src/protocol/meta.js';
import { makeCache } from './cache-fixture.js';

const ERROR = Buffer.from('ERROR\r\n');

export class FakeConn implements ProtoConn {
  readonly out: Output;
  readonly id = 7;
  readonly transport = 'tcp';
  readonly peer = '127.0.0.1:1';
  closing = false;
  authenticated = true;
  constructor(cache: Cache) {
    this.out = new Output(cache);
  }
  closeAfterWrite(): void {
    this.closing = true;
  }
}

export function fakeContext(cache: Cache, settings = {} as Settings): ServerContext {
  return {
    cache,
    settings,
    counters: new ServerCounters(),
    ...daemonState(cache, settings),
    startedAt: 0,
    setVerbosity() {},
    shutdown() {},
    connections: () => [],
  };
}

/** One connection's read loop over meta lines: what text.ts does for `m?` lines. */
export class MetaLoop {
  /** bytes kept for the next feed (a partial line or an ms data block still arriving) */
  pending: Buffer = Buffer.alloc(0);
  constructor(readonly meta: MetaCommands, readonly conn: FakeConn) {}

  /** Feeds bytes; returns the replies they completed (latin1). */
  feed(bytes: string | Buffer): string {
    const chunk = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      if (this.meta.active) {
        pos = this.meta.feed(buf, pos, end);
        continue;
      }
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break;
      const eol = nl > pos && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      let p = pos;
      while (p < eol && buf[p] === 0x20) p++;
      let r: number;
      if (buf[p] === 0x6d && (p + 2 === eol || buf[p + 2] === 0x20)) {
        r = this.meta.handle(buf, pos, eol, nl + 1, end);
      } else {
        this.conn.out.bytes(ERROR);
        r = nl + 1;
      }
      if (r < 0) break;
      pos = r;
    }
    this.pending = Buffer.from(buf.subarray(pos));
    const parts: Buffer[] = [];
    const pins = this.conn.out.flush((b) => parts.push(Buffer.from(b)));
    if (pins) this.conn.out.release(pins);
    return Buffer.concat(parts).toString('latin1');
  }
}

export interface MetaRig {
  cache: Cache;
  clock: ManualClock;
  ctx: ServerContext;
  loop: MetaLoop;
  /** feed a request, get the reply (latin1) */
  feed(bytes: string | Buffer): string;
  /** another connection to the same cache */
  connect(): MetaLoop;
}

/** `streaming`: the loop feeds swallowed ms blocks to the meta front end as text.ts does. */
export function metaRig(opts: { streaming?: boolean } = {}): MetaRig {
  const made = makeCache();
  const ctx = fakeContext(made.cache);
  const connect = (): MetaLoop => {
    const conn = new FakeConn(made.cache);
    return new MetaLoop(new MetaCommands(ctx, conn, opts.streaming ?? false), conn);
  };
  const loop = connect();
  return { cache: made.cache, clock: made.clock, ctx, loop, feed: (b) => loop.feed(b), connect };
}
