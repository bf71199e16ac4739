/**
 * Meta commands over real sockets to the real daemon, where memcached 1.6.18
 * can't be the judge: flags that came later (E, md x, ms s and N; checked against
 * protocol.txt's text), wins shared across connections, and daemon options
 * (-C, -I) seen through meta replies.
 */
import test from 'ava';
import { startSlabcache } from './helpers/memcached.js';
import { telnet } from './helpers/telnet.js';

test.serial('E sets the CAS of what ms, mg N, md I and ma change', async (t) => {
  const mc = await telnet(t, await startSlabcache(t));
  await mc.says('ms k 1 E500 c\r\nx\r\n', 'HD c500\r\n');
  await mc.says('mg k c v\r\n', 'VA 1 c500\r\nx\r\n');
  await mc.says('gets k\r\n', 'VALUE k 0 1 500\r\nx\r\nEND\r\n');
  await mc.says('ms k 1 C500 E600 c\r\ny\r\n', 'HD c600\r\n');
  await mc.says('ms k 1 C500 E700 c\r\nz\r\n', 'EX c0\r\n');
  await mc.says('cas k 0 0 1 600\r\nw\r\n', 'STORED\r\n');
  await mc.says('mg v N30 E77 c s\r\n', 'HD c77 s0 W\r\n');
  await mc.says('md k I E88\r\n', 'HD\r\n');
  await mc.says('mg k c\r\n', 'HD c88 X W\r\n');
  await mc.says('ma n N0 J3 E42 c v\r\n', 'VA 1 c42\r\n3\r\n');
  await mc.says('ma n E99 c v\r\n', 'VA 1 c99\r\n4\r\n');
  await mc.says('ma n C99 E100 c\r\n', 'HD c100\r\n');
  await mc.says('ms a 1 E5 MA c\r\n!\r\n', 'NS c0\r\n');
  await mc.says('mg k Ex\r\n', 'CLIENT_ERROR bad token in command line format\r\n');
  await mc.says('md k Ex\r\n', 'CLIENT_ERROR invalid or duplicate flag\r\n');
});

test.serial('md x keeps the item with an empty value', async (t) => {
  const mc = await telnet(t, await startSlabcache(t));
  await mc.says('ms k 5 F9 T100 c\r\nhello\r\n', 'HD c1\r\n');
  await mc.says('md k x k\r\n', 'HD kk\r\n');
  // the emptied item takes the request's client flags and TTL (none) and keeps its CAS
  await mc.says('mg k v f t c\r\n', 'VA 0 f0 t-1 c1\r\n\r\n');
  await mc.says('get k\r\n', 'VALUE k 0 0\r\n\r\nEND\r\n');
  await mc.says('md k x I F3 T1000 q\r\nmn\r\n', 'MN\r\n');
  await mc.send('mg k v f t\r\n');
  const reply = (await mc.readUntil('\r\n\r\n')).toString('latin1');
  t.regex(reply, /^VA 0 f3 t(1000|999) X W\r\n\r\n$/);
  await mc.says('md k x C1\r\n', 'EX\r\n');
  await mc.says('md miss x\r\n', 'NF\r\n');
  await mc.says('md k\r\n', 'HD\r\n');
  await mc.says('mg k v\r\n', 'EN\r\n');
  // x is md's alone, as 1.6.18's mg/ms/ma refuse it
  await mc.says('mg k x\r\n', 'CLIENT_ERROR invalid flag\r\n');
  await mc.says('ma k x\r\n', 'CLIENT_ERROR invalid or duplicate flag\r\n');
});

test.serial('ms s returns the stored size; N makes append/prepend create a missing item', async (t) => {
  const mc = await telnet(t, await startSlabcache(t));
  await mc.says('ms k 2 s\r\nhi\r\n', 'HD s2\r\n');
  await mc.says('ms k 3 MA s\r\nyou\r\n', 'HD s5\r\n');
  await mc.says('ms k 1 MP s c\r\n>\r\n', 'HD s6 c3\r\n');
  await mc.says('ms none 3 MA s\r\nabc\r\n', 'NS s3\r\n');
  await mc.says('ms log 4 MA N0 s\r\nline\r\n', 'HD s4\r\n');
  await mc.says('ms log 4 MA N0 T5 s\r\nnext\r\n', 'HD s8\r\n');
  await mc.says('mg log v t\r\n', 'VA 8 t-1\r\nlinenext\r\n');
  await mc.says('ms pre 1 MP N0 q\r\n<\r\nmg pre v\r\n', 'VA 1\r\n<\r\n');
  await mc.says('ms k 2 S2\r\nhi\r\n', 'CLIENT_ERROR invalid flag\r\n');
});

test.serial('one win per invalidation, across connections', async (t) => {
  const server = await startSlabcache(t);
  const a = await telnet(t, server);
  const b = await telnet(t, server);
  await a.says('ms k 1 T0 c\r\nv\r\n', 'HD c1\r\n');
  await a.says('md k I q\r\nmn\r\n', 'MN\r\n');
  await b.says('mg k v c\r\n', 'VA 1 c2 X W\r\nv\r\n');
  await a.says('mg k v c\r\n', 'VA 1 c2 Z X\r\nv\r\n');
  // a late writer with the pre-invalidation CAS stores, but stays stale
  await a.says('ms k 1 C1 I c\r\nu\r\n', 'HD c3\r\n');
  await a.says('mg k v\r\n', 'VA 1 Z X\r\nu\r\n');
  // the winner recaches with the CAS it saw... which moved: it reads again and wins
  await b.says('ms k 1 C2 c\r\nw\r\n', 'EX c0\r\n');
  await b.says('ms k 1 C3 c\r\nw\r\n', 'HD c4\r\n');
  await a.says('mg k v\r\n', 'VA 1\r\nw\r\n');
  // vivify: the first miss wins, the next sees Z until someone sets it
  await a.says('mg n N30 v\r\n', 'VA 0 W\r\n\r\n');
  await b.says('mg n N30 v\r\n', 'VA 0 Z\r\n\r\n');
  await b.says('set n 0 0 1\r\n1\r\n', 'STORED\r\n');
  await a.says('mg n N30 v\r\n', 'VA 1\r\n1\r\n');
});

test.serial('with -C there are no CAS values, as in memcached', async (t) => {
  const mc = await telnet(t, await startSlabcache(t, ['-C']));
  await mc.says('ms k 1 c\r\nx\r\n', 'HD c0\r\n');
  await mc.says('mg k c v\r\n', 'VA 1 c0\r\nx\r\n');
  await mc.says('ms k 1 E9 c\r\ny\r\n', 'HD c0\r\n');
  await mc.says('md k I\r\nmg k c\r\n', 'HD\r\nHD c0 X W\r\n');
});

test.serial('-I bounds ms values; the rejected data is swallowed', async (t) => {
  const mc = await telnet(t, await startSlabcache(t, ['-I', '1k', '-o', 'slab_chunk_max=1024']));
  await mc.says('ms k 1\r\nx\r\n', 'HD\r\n');
  const big = 'y'.repeat(2000);
  await mc.says(`ms k 2000 T0\r\n${big}\r\nmg k v\r\n`, 'SERVER_ERROR object too large for cache\r\nEN\r\n');
  await mc.says('ms k 900 q\r\n' + 'z'.repeat(900) + '\r\nmg k s\r\n', 'HD s900\r\n');
});

test.serial('an ms rejected from its line is answered before its block, which is swallowed as it comes', async (t) => {
  const mc = await telnet(t, await startSlabcache(t));
  await mc.says('ms k 1\r\nv\r\n', 'HD\r\n');
  // memcached answers only once the block is swallowed; we answer at once
  await mc.says('ms k 67108864 Z\r\n', 'CLIENT_ERROR invalid flag\r\n');
  const chunk = Buffer.alloc(1024 * 1024, 0x7a);
  for (let i = 0; i < 64; i++) await mc.send(chunk);
  await mc.says('\r\nmg k v\r\n', 'VA 1\r\nv\r\n');
  await mc.says('ms k 67108864\r\n', 'SERVER_ERROR object too large for cache\r\n');
  for (let i = 0; i < 64; i++) await mc.send(chunk);
  await mc.says('\r\nmg k v\r\n', 'EN\r\n');
});
