/**
 * A large ms streams into its item as it arrives (no client holds more than a line
 * outside -m): same replies as memcached's, whole or in pieces, good and bad
 * endings, and a client that leaves mid-block leaks nothing.
 */
import test from 'ava';
import { playBoth } from './helpers/differential.js';
import { startSlabcache } from './helpers/memcached.js';
import { telnet } from './helpers/telnet.js';

const big = (n: number, c = 0x61): Buffer => Buffer.alloc(n, c);

test.serial('large ms values, whole and split, good and bad endings, match memcached', async (t) => {
  const v = big(100_000);
  const script = [
    Buffer.concat([Buffer.from('ms big 100000 T0 c k\r\n'), v, Buffer.from('\r\n')]),
    Buffer.from('mg big s v\r\n'),
    // the same block in three pieces, split inside the data and inside \r\n (no
    // sentinel after a piece: it would land inside the block)
    { send: Buffer.concat([Buffer.from('ms big2 100000 MS O7\r\n'), v.subarray(0, 30_000)]), until: 'none' as const },
    { send: Buffer.concat([v.subarray(30_000), Buffer.from('\r')]), until: 'none' as const },
    Buffer.from('\nmg big2 s\r\n'),
    // wrong ending: bad data chunk, and nothing stored
    Buffer.concat([Buffer.from('ms big3 100000\r\n'), v, Buffer.from('XY')]),
    Buffer.from('mg big3 s\r\n'),
  ];
  const played = await playBoth(t, script, { mask: { cas: true } });
  t.truthy(played.slabcache);
});

test.serial('a client leaving mid-block leaks no chunk; the next client is served', async (t) => {
  const server = await startSlabcache(t);
  const a = await telnet(t, server);
  const b = await telnet(t, server);
  const usedChunks = async (): Promise<number> => {
    await b.send('stats slabs\r\n');
    const slabs = (await b.readUntil('END\r\n')).toString('latin1');
    return [...slabs.matchAll(/STAT \d+:used_chunks (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  };
  await a.send(Buffer.concat([Buffer.from('ms gone 500000\r\n'), big(200_000)]));
  // the half-sent block already lives in its item (counted in -m), not in a read buffer
  for (let i = 0; (await usedChunks()) === 0; i++) {
    if (i === 100) return t.fail('the block was buffered instead of streamed');
    await new Promise((r) => setImmediate(r));
  }
  await a.close();
  // once the first connection is gone its half-filled item is back in the free list
  for (let i = 0; i < 100; i++) {
    const used = await usedChunks();
    if (used === 0) break;
    if (i === 99) t.fail(`still ${used} chunks in use`);
    await new Promise((r) => setImmediate(r));
  }
  await b.says(Buffer.concat([Buffer.from('ms ok 20000\r\n'), big(20_000, 0x62), Buffer.from('\r\n')]), 'HD\r\n');
  await b.says('mg ok s\r\n', 'HD s20000\r\n');
});
