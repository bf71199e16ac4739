/**
 * An in-process rig for the meta commands: TextProtocol.process itself, the read loop a
 * connection runs, over an engine with a ManualClock and a fake connection. feed() keeps
 * the bytes the protocol did not consume (a partial line, an ms block still arriving)
 * for the next feed, as the connection does, and returns the replies.
 */
import { Cache } from '../src/cache/engine.js';
import { ManualClock } from '../src/cache/clock.js';
import { Output } from '../src/protocol/output.js';
import { ProtoConn, ServerContext, ServerCounters } from '../src/protocol/context.js';
import { daemonState } from '../src/server-context.js';
import { defaultSettings, type Settings } from '../src/config.js';
import { TextProtocol } from '../src/protocol/text.js';
import { makeCache } from './cache-fixture.js';

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

export function fakeContext(cache: Cache, settings: Settings = defaultSettings()): ServerContext {
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

/** One connection: its text protocol, and the bytes it has not consumed yet. */
export class MetaLoop {
  /** bytes kept for the next feed (a partial line or an ms data block still arriving) */
  pending: Buffer = Buffer.alloc(0);
  readonly proto: TextProtocol;
  constructor(ctx: ServerContext, readonly conn: FakeConn) {
    this.proto = new TextProtocol(ctx, conn);
  }

  /** Runs the protocol over the bytes, as a connection's read does; replies stay queued. */
  process(bytes: string | Buffer): void {
    const chunk = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    // after -R requests the protocol yields; the connection comes back for the rest
    do pos += this.proto.process(buf, pos, buf.length);
    while (this.proto.yielded && !this.conn.closing);
    this.pending = Buffer.from(buf.subarray(pos));
  }

  /** Feeds bytes; returns the replies they completed (latin1). */
  feed(bytes: string | Buffer): string {
    this.process(bytes);
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

export function metaRig(): MetaRig {
  const made = makeCache();
  const ctx = fakeContext(made.cache);
  const connect = (): MetaLoop => new MetaLoop(ctx, new FakeConn(made.cache));
  const loop = connect();
  return { cache: made.cache, clock: made.clock, ctx, loop, feed: (b) => loop.feed(b), connect };
}
