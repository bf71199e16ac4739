/**
 * Inputs at memcached's edges, played to memcached 1.6.18 and to slabcache and
 * compared byte for byte: lines it will not read (too long, HTTP), NUL bytes past
 * the tokenizer's 23 words, incr/decr of an empty value under a wrong CAS, and
 * binary headers whose lengths do not fit memcached's 16 KiB read buffer or its int.
 */
import { test } from './helpers/thread-variants.js';
import { playBoth } from './helpers/differential.js';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { arithExt, exchange, ext, masked, pkt, sentinel } from './binary-client.js';

const WORDS30 = Array.from({ length: 30 }, (_, i) => `a${i}`).join(' ');

test('an overlong line or an HTTP request line closes after the replies before it, vs memcached', async (t) => {
  await playBoth(t, [{ send: `set hk 0 0 1\r\nx\r\nget hk\r\n${'z'.repeat(3000)}`, until: 'close' }]);
  await playBoth(t, [{ send: 'get nokey\r\nGET / HTTP/1.1\r\n', until: 'close' }]);
  // memcached writes out after each get and mn; what came after the last one is dropped
  for (const before of ['set a 0 0 1\r\nx\r\n', 'mn\r\nversion\r\n', 'version\r\nmn\r\n', 'mg a v\r\nget a\r\nincr a 1\r\n']) {
    await playBoth(t, [{ send: before + 'x'.repeat(2049), until: 'close' }]);
  }
});

test('a NUL past the 23rd word of a get line ends the line, vs memcached', async (t) => {
  await playBoth(t, [
    'set zz 0 0 1\r\nq\r\n', `get ${WORDS30} x\u0000y zz\r\n`,
    'set k0 0 0 1\r\nq\r\n', `get ${WORDS30} k0\u0000\r\n`, `gets ${WORDS30} zz k0\u0000 zz\r\n`,
  ], { mask: { cas: true } });
});

test('ma with a wrong CAS on an empty value is non-numeric, a number gets EX, vs memcached', async (t) => {
  await playBoth(t, [
    'set e1 0 0 0\r\n\r\n', 'ma e1 C999999 v\r\n', 'ma e1 C999999 MD v\r\n', 'ma e1 v\r\n',
    'set n1 0 0 1\r\n5\r\n', 'ma n1 C999999 v\r\n', 'incr e1 1\r\n',
  ]);
});

test('a text line longer than 16 KiB closes unless it is a get, vs memcached', async (t) => {
  await playBoth(t, [{ send: `set ${'k'.repeat(20000)} 0 0 1\r\nx\r\n`, until: 'close' }]);
  await playBoth(t, [{ send: `mn\r\nincr ${'k'.repeat(17000)} 1\r\n`, until: 'close' }]);
  // a get line may grow: its overlong key is refused and the connection goes on
  await playBoth(t, [`get ${'k'.repeat(20000)}\r\n`, `set ${'k'.repeat(10000)} 0 0 1\r\nx\r\n`]);
});

test('binary edges: empty value under a wrong CAS, lengths of 2^31 and more, a 64 KiB key, vs memcached', async (t) => {
  const [mc, sc] = await Promise.all([startMemcached(t), startSlabcache(t)]);
  const scripts: Record<string, Buffer[]> = {
    'incr of an empty value with a wrong CAS is non-numeric (status 6)': [
      pkt({ op: 0x01, key: 'e1', extras: ext(0, 0), value: '' }),
      pkt({ op: 0x05, key: 'e1', extras: arithExt(1n, 0n, 0xffffffff), cas: 999999n }),
      pkt({ op: 0x06, key: 'e1', extras: arithExt(1n, 0n, 0xffffffff), cas: 999999n }),
      sentinel(),
    ],
    'unknown opcode with a body length near 2^32 is answered, and so is the next request': [
      pkt({ op: 0x50, bodylen: 0xfffffff0 }), sentinel(),
    ],
    'set with a body length near 2^32 is too large, and the next request is answered': [
      pkt({ op: 0x01, key: 'k', extras: ext(0, 0), bodylen: 0xfffffff0 }), sentinel(),
    ],
    'unknown opcode with a small body swallows it': [
      pkt({ op: 0x50, value: 'x'.repeat(10) }), sentinel(),
    ],
  };
  for (const [name, script] of Object.entries(scripts)) {
    const [a, b] = await Promise.all([exchange(mc.port, script), exchange(sc.port, script)]);
    t.is(masked(b), masked(a), name);
  }
  // a key of 0xffff bytes never fits memcached's 16 KiB read buffer: closed, unanswered
  const huge = [pkt({ op: 0x00, keylen: 0xffff, bodylen: 0xffff }), Buffer.alloc(0xffff, 0x61)];
  const [a, b] = await Promise.all([exchange(mc.port, huge), exchange(sc.port, huge)]);
  t.is(masked(a), 'closed');
  t.is(masked(b), masked(a));
});
