/**
 * BinaryProtocol in process, over a fake connection: every split of a request
 * stream gives the same bytes as the whole, -R yields, and a connection that
 * goes away mid-value gives its half-filled item back.
 */
import test from 'ava';
import type { Settings } from '../src/config.js';
import { BinaryProtocol } from '../src/protocol/binary.js';
import { FakeConn } from './meta-helpers.js';
import { protoRig } from './helpers/proto-rig.js';
import { arithExt, ext, parseReplies, pkt } from './binary-client.js';

const rig = (over: Partial<Settings> = {}) => protoRig((ctx, conn) => new BinaryProtocol(ctx, conn), over);

const STREAM = Buffer.concat([
  pkt({ op: 0x01, key: 'a', extras: ext(5, 0), value: 'hello', opaque: 1 }),
  pkt({ op: 0x11, key: 'b', extras: ext(0, 0), value: Buffer.alloc(20_000, 0x62) }),
  pkt({ op: 0x0c, key: 'a', opaque: 2 }), pkt({ op: 0x09, key: 'missing' }), pkt({ op: 0x00, key: 'b' }),
  pkt({ op: 0x05, key: 'n', extras: arithExt(3n, 7n, 0) }), pkt({ op: 0x05, key: 'n', extras: arithExt(3n, 7n, 0) }),
  pkt({ op: 0x0e, key: 'a', value: '!' }), pkt({ op: 0x1d, key: 'a', extras: ext(10) }), pkt({ op: 0x04, key: 'zz' }),
  pkt({ op: 0x50, key: 'k', value: 'xyz' }), Buffer.alloc(1, 0xee), // memcached swallows bodylen after the key pkt({ op: 0x10, key: 'nosuch' }),
  pkt({ op: 0x0a, opaque: 3 }),
]);

test('every split of a request stream answers the same bytes as the whole', (t) => {
  const whole = rig();
  whole.feed(STREAM);
  const expected = whole.output();
  t.is(parseReplies(expected).replies.at(-1)?.opaque, 3);
  // split at every offset into two reads
  for (let cut = 1; cut < STREAM.length; cut += cut < 300 ? 1 : 211) {
    const r = rig();
    r.feed(STREAM.subarray(0, cut));
    r.feed(STREAM.subarray(cut));
    t.deepEqual(r.output(), expected, `split at ${cut}`);
  }
  // one byte per read
  const r = rig();
  for (let i = 0; i < STREAM.length; i++) r.feed(STREAM.subarray(i, i + 1));
  t.deepEqual(r.output(), expected);
});

test('-R: at most reqsPerEvent requests per call, then yielded', (t) => {
  const r = rig({ reqsPerEvent: 3 });
  const ten = Buffer.concat(Array.from({ length: 10 }, (_, i) => pkt({ op: 0x0a, opaque: i })));
  const n = r.proto.process(ten, 0, ten.length);
  t.is(n, 3 * 24);
  t.true(r.proto.yielded);
  t.is(r.ctx.counters.conn_yields, 1);
  const m = r.proto.process(ten, n, ten.length);
  t.is(m, 3 * 24);
});

test('a connection closed mid-value gives the item back', (t) => {
  const r0 = rig();
  const value = Buffer.alloc(700_000, 0x63);
  const req = pkt({ op: 0x01, key: 'big', extras: ext(0, 0), value });
  // far more half-sent values than memory holds: each must be released
  for (let i = 0; i < 40; i++) {
    const r = { ...r0, proto: new BinaryProtocol(r0.ctx, new FakeConn(r0.cache)) };
    r.proto.process(req, 0, req.length - 1000);
    r.proto.closed();
  }
  const conn = new FakeConn(r0.cache);
  const p = new BinaryProtocol(r0.ctx, conn);
  t.is(p.process(req, 0, req.length), req.length);
  const out: Buffer[] = [];
  conn.out.flush((b) => out.push(Buffer.from(b)));
  t.is(parseReplies(Buffer.concat(out)).replies[0].status, 0);
});

test('nothing is parsed after quit or a fatal error', (t) => {
  const r = rig();
  r.feed(Buffer.concat([pkt({ op: 0x07 }), pkt({ op: 0x0a })]));
  t.true(r.conn.closing);
  t.is(parseReplies(r.output()).replies.length, 1);
  const e = rig();
  e.feed(Buffer.concat([pkt({ op: 0x00, key: 'k'.repeat(251) }), pkt({ op: 0x0a })]));
  t.deepEqual(parseReplies(e.output()).replies.map((x) => [x.status, x.value]), [[4, 'Invalid arguments']]);
});
