/**
 * Bounded fuzz of the binary protocol over real sockets: random and mutated
 * packets, split at random offsets, many connections at once. The server must not
 * crash, a witness connection running set/get throughout must keep getting exactly
 * its own replies, and a well-formed request on a new connection must work after.
 * Seeded, so a failure replays: the seed is in the assertion message.
 */
import test from 'ava';
import { startSlabcache } from './helpers/memcached.js';
import { arithExt, exchange, ext, pkt, sentinel } from './binary-client.js';

const SEED = 0x5eed1234;
const ROUNDS = 240;
const PARALLEL = 8;
const TIME_LIMIT_MS = 40_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // xorshift32
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const OPS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x50, 0xff];

function wellFormed(r: () => number): Buffer {
  const op = OPS[Math.floor(r() * OPS.length)];
  const key = `fz${Math.floor(r() * 20)}`;
  const value = Buffer.alloc(Math.floor(r() * r() * 3000), 0x41 + Math.floor(r() * 26));
  switch (op) {
    case 0x01: case 0x02: case 0x03: case 0x11: case 0x12: case 0x13:
      return pkt({ op, key, extras: ext(Math.floor(r() * 10), 0), value, cas: r() < 0.2 ? BigInt(Math.floor(r() * 100)) : 0n });
    case 0x05: case 0x06: case 0x15: case 0x16:
      return pkt({ op, key, extras: arithExt(BigInt(Math.floor(r() * 100)), 5n, r() < 0.3 ? 0xffffffff : 0) });
    case 0x0e: case 0x0f: case 0x19: case 0x1a:
      return pkt({ op, key, value });
    case 0x1c: case 0x1d: case 0x1e: case 0x23: case 0x24:
      return pkt({ op, key, extras: ext(100) });
    case 0x08: case 0x18:
      return pkt({ op, extras: r() < 0.5 ? ext(1000) : undefined });
    case 0x10:
      return pkt({ op, key: ['', 'items', 'slabs', 'settings', 'detail dump', 'nosuch'][Math.floor(r() * 6)] });
    case 0x21: case 0x22:
      return pkt({ op, key: 'PLAIN', value: '\0u\0p' });
    case 0x0a: case 0x0b: case 0x07: case 0x17: case 0x20:
      return pkt({ op });
    default:
      return pkt({ op, key });
  }
}

function mutate(r: () => number, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const what = r();
    if (what < 0.5) {
      // header fields are where the interesting bugs live
      const at = r() < 0.8 ? Math.floor(r() * Math.min(24, out.length)) : Math.floor(r() * out.length);
      out[at] = Math.floor(r() * 256);
    } else if (what < 0.7) {
      out.writeUInt16BE(Math.floor(r() * 0x10000), 2); // key length
    } else if (what < 0.85) {
      out.writeUInt32BE(Math.floor(r() * (r() < 0.5 ? 0x100 : 0x100000000)), 8); // body length
    } else {
      out[4] = Math.floor(r() * 256); // extras length
    }
  }
  return out;
}

function randomSplit(r: () => number, all: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let p = 0;
  while (p < all.length) {
    const n = 1 + Math.floor(r() * Math.min(all.length - p, r() < 0.3 ? 3 : 400));
    parts.push(all.subarray(p, p + n));
    p += n;
  }
  return parts;
}

/** cmd_flush from a binary stat. */
async function flushes(port: number): Promise<number> {
  const r = await exchange(port, [pkt({ op: 0x10 }), sentinel()]);
  return Number(r.replies.find((x) => x.key === 'cmd_flush')?.value ?? NaN);
}

test('binary fuzz: random and mutated packets never crash or desynchronise', async (t) => {
  const server = await startSlabcache(t, ['-m', '16', '-I', '1m']);
  const r = rng(SEED);
  const started = Date.now();
  let rounds = 0;
  let witnessRounds = 0;
  while (rounds < ROUNDS && Date.now() - started < TIME_LIMIT_MS) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < PARALLEL; i++, rounds++) {
      const pieces: Buffer[] = [];
      const count = 1 + Math.floor(r() * 6);
      for (let j = 0; j < count; j++) {
        const w = wellFormed(r);
        pieces.push(r() < 0.6 ? mutate(r, w) : w);
        if (r() < 0.1) pieces.push(Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256))));
      }
      // garbage may leave the server waiting for bytes that never come: a short deadline, then hang up
      batch.push(exchange(server.port, randomSplit(r, Buffer.concat([...pieces, sentinel()])), 400));
    }
    // the witness: its own key, its own replies, in order, while the fuzz runs
    const key = `witness${witnessRounds}`;
    const value = `v${witnessRounds}`;
    let missed = false;
    batch.push(exchange(server.port, [pkt({ op: 0x01, key, extras: ext(witnessRounds, 0), value, opaque: 1 }),
      pkt({ op: 0x0c, key, opaque: 2 }), sentinel()]).then((w) => {
      t.false(w.closed || w.timedOut, `witness ${witnessRounds} (seed ${SEED})`);
      const got = w.replies.map((x) => [x.op, x.status, x.opaque, x.key, x.value]);
      // a flush from a fuzz connection (served by another thread at once, or one with a
      // delay that has come due) may fall between the witness's set and its get: a miss
      // then, checked below against cmd_flush; anything else is the witness's own reply
      missed = got[1]?.[1] === 1;
      t.deepEqual(got, [[0x01, 0, 1, '', ''], missed ? [0x0c, 1, 2, key, ''] : [0x0c, 0, 2, key, value],
        [0x0a, 0, 0x5e471e1, '', '']], `witness (seed ${SEED})`);
    }));
    witnessRounds++;
    await Promise.all(batch);
    if (missed) t.true(await flushes(server.port) > 0, `witness ${witnessRounds - 1} missed its key, and no flush was run (seed ${SEED})`);
    t.is(server.exited(), null, `server alive after ${rounds} rounds (seed ${SEED})`);
  }
  t.true(rounds >= 40, `ran ${rounds} rounds`);
  // a well-formed request on a new connection works afterwards
  const after = await exchange(server.port, [pkt({ op: 0x01, key: 'after', extras: ext(0, 0), value: 'ok' }),
    pkt({ op: 0x00, key: 'after' }), pkt({ op: 0x0b }), sentinel()]);
  t.deepEqual(after.replies.map((x) => [x.op, x.status]), [[0x01, 0], [0x00, 0], [0x0b, 0], [0x0a, 0]]);
  t.is(after.replies[1].value, 'ok');
  t.is(server.exited(), null);
  // an exception caught and logged by the server would be a bug too
  t.notRegex(server.output(), /Error|exception|assert/i);
});
