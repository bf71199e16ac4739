/** -o slab_sizes: explicit chunk sizes replace the -n/-f series, as in memcached. */
import test from 'ava';
import { makeCache } from './cache-fixture.js';
import { daemon } from './server-fixture.js';
import { telnet } from './helpers/telnet.js';

test('the engine takes the given sizes, aligned up to 8, then slab_chunk_max', (t) => {
  const { cache } = makeCache({ slabSizes: [100, 200, 300, 1000] });
  t.deepEqual(cache.slabs.size.slice(1), [104, 200, 304, 1000, 512 * 1024]);
  t.is(cache.slabs.perslab[3], Math.floor((1024 * 1024) / 304));
});

test('the daemon uses -o slab_sizes for where items go (stats slabs)', async (t) => {
  const d = await daemon(t, { slabSizes: [100, 209, 300] });
  const c = await telnet(t, d.port);
  await c.says(`set a 0 0 150\r\n${'x'.repeat(150)}\r\n`, 'STORED\r\n');
  await c.send('stats slabs\r\n');
  const slabs = (await c.readUntil('END\r\n')).toString('latin1');
  // 40-byte header + 1-byte key + 150 = 191 bytes: the 216-byte class (209 aligned up)
  t.regex(slabs, /STAT 2:chunk_size 216\r\n/);
  t.regex(slabs, /STAT 2:used_chunks 1\r\n/);
  t.regex(slabs, /STAT active_slabs 1\r\n/);
});
