/**
 * A protocol front end in process, over a fake connection and an engine with a
 * manual clock: feed() does what the server does per read (process, keep the
 * unconsumed tail, call again while it yields), output() drains the replies.
 * For split tests: over TCP the kernel may merge the pieces a test sends.
 */
import { defaultSettings, type Settings } from '../../src/config.js';
import type { EngineOptions } from '../../src/cache/engine.js';
import type { ProtoConn, Protocol, ServerContext } from '../../src/protocol/context.js';
import { makeCache } from '../cache-fixture.js';
import { FakeConn, fakeContext } from '../meta-helpers.js';

export function protoRig<P extends Protocol>(make: (ctx: ServerContext, conn: ProtoConn) => P, over: Partial<Settings> = {},
  engine: Partial<EngineOptions> = {}) {
  const { cache, clock } = makeCache({ maxbytes: 4 * 1024 * 1024, ...engine });
  const ctx = fakeContext(cache, { ...defaultSettings(), ...over });
  const conn = new FakeConn(cache);
  const proto = make(ctx, conn);
  let tail = Buffer.alloc(0);
  const feed = (chunk: Buffer): void => {
    tail = Buffer.concat([tail, chunk]);
    for (;;) {
      const n = proto.process(tail, 0, tail.length);
      tail = tail.subarray(n);
      if (!proto.yielded || conn.closing) break;
    }
  };
  const output = (): Buffer => {
    const parts: Buffer[] = [];
    const pins = conn.out.flush((b) => parts.push(Buffer.from(b)));
    if (pins) conn.out.release(pins);
    return Buffer.concat(parts);
  };
  return { cache, clock, ctx, conn, proto, feed, output, tailLength: () => tail.length };
}
