/**
 * The largest item is memcached's: under -I, a value of -I - 59 - key length bytes is
 * stored and one byte more is refused (51 with -C), on text, meta and binary alike,
 * whatever our smaller item header would have room for. Played against memcached 1.6.18
 * for several -I values and key lengths.
 */
import test from 'ava';
import { playBoth, type ScriptItem } from './helpers/differential.js';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { ext, pkt } from './binary-client.js';

const CASES: ReadonlyArray<readonly [string[], number]> = [
  [['-I', '1m'], 1 << 20],
  [['-I', '1m', '-C'], 1 << 20],
  [['-I', '2m'], 2 << 20],
  [['-I', '64k', '-o', 'slab_chunk_max=16384', '-C'], 64 << 10],
  [['-I', '1k', '-o', 'slab_chunk_max=1024'], 1 << 10],
];

for (const [args, itemMax] of CASES) {
  test(`largest value as memcached's: ${args.join(' ')}`, async (t) => {
    const [memcached, slabcache] = await Promise.all([startMemcached(t, args), startSlabcache(t, args)]);
    const servers = { memcached, slabcache };
    const overhead = args.includes('-C') ? 51 : 59;
    const text: ScriptItem[] = [];
    const binary: ScriptItem[] = [];
    for (const kl of [1, 10, 250]) {
      const limit = itemMax - overhead - kl;
      for (const n of [limit, limit + 1]) {
        const key = String(n % 10).repeat(kl);
        const v = 'v'.repeat(n);
        text.push(`set ${key} 0 0 ${n}\r\n${v}\r\n`, `mg ${key} s\r\n`, `ms ${key} ${n} T0\r\n${v}\r\n`, `mg ${key} s\r\n`,
          `delete ${key}\r\n`);
        binary.push(pkt({ op: 0x01, key, extras: ext(0, 0), value: v }), pkt({ op: 0x00, key: key }));
      }
    }
    const played = await playBoth(t, text, { servers });
    const said = played.slabcache.replies.map((r) => r.text);
    // each key length: the limit stored (set and ms), one byte more refused (set and ms)
    t.is(said.filter((r) => r === 'STORED\r\n').length, 3);
    t.is(said.filter((r) => r === 'HD\r\n').length, 3);
    t.is(said.filter((r) => r.startsWith('SERVER_ERROR object too large for cache')).length, 6);
    const bin = await playBoth(t, binary, { servers });
    t.is(bin.slabcache.replies.filter((r) => r.bytes.length >= 8 && r.bytes.readUInt16BE(6) === 0x0003).length, 3, 'E2BIG');
  });
}
