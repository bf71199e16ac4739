/**
 * Meta commands in-process, where a real memcached 1.6.18 can't be the judge:
 * flags added after 1.6.18 (E, md x, ms s and N; checked against protocol.txt's
 * text), exact TTLs on a manual clock, wins across connections, every split of a
 * pipelined request, and the stats counters (checked against memcached's).
 */
import test from 'ava';
import { RawClient } from './helpers/telnet.js';
import { startMemcached } from './helpers/memcached.js';
import { metaRig } from './meta-helpers.js';

test('E sets the CAS of what ms, mg N, md I and ma change (protocol.txt)', (t) => {
  const r = metaRig();
  t.is(r.feed('ms k 1 E500 c\r\nx\r\n'), 'HD c500\r\n');
  t.is(r.feed('mg k c v\r\n'), 'VA 1 c500\r\nx\r\n');
  t.is(r.feed('ms k 1 C500 E600 c\r\ny\r\n'), 'HD c600\r\n');
  t.is(r.feed('ms k 1 C500 E700 c\r\nz\r\n'), 'EX c0\r\n');
  t.is(r.feed('mg v N30 E77 c s\r\n'), 'HD c77 s0 W\r\n');
  t.is(r.feed('md k I E88\r\n'), 'HD\r\n');
  t.is(r.feed('mg k c\r\n'), 'HD c88 X W\r\n');
  t.is(r.feed('ma n N0 J3 E42 c v\r\n'), 'VA 1 c42\r\n3\r\n');
  t.is(r.feed('ma n E99 c v\r\n'), 'VA 1 c99\r\n4\r\n');
  t.is(r.feed('ma n C99 E100 c\r\n'), 'HD c100\r\n');
  t.is(r.feed('mg k Ex\r\n'), 'CLIENT_ERROR bad token in command line format\r\n');
  t.is(r.feed('md k Ex\r\n'), 'CLIENT_ERROR invalid or duplicate flag\r\n');
});

test('md x keeps the item with an empty value (protocol.txt)', (t) => {
  const r = metaRig();
  r.feed('ms k 5 F9 T100\r\nhello\r\n');
  const cas = /c(\d+)/.exec(r.feed('mg k c\r\n'))![1];
  t.is(r.feed('md k x k\r\n'), 'HD kk\r\n');
  // the tombstone takes the request's flags and TTL (none here) and keeps the CAS
  t.is(r.feed('mg k v f t c\r\n'), `VA 0 f0 t-1 c${cas}\r\n\r\n`);
  t.is(r.feed('md k x I F3 T50 q\r\n'), '');
  t.is(r.feed('mg k v f t\r\n'), 'VA 0 f3 t50 X W\r\n\r\n');
  t.is(r.feed('md k x C1\r\n'), 'EX\r\n');
  t.is(r.feed('md miss x\r\n'), 'NF\r\n');
  t.is(r.feed('md k\r\n'), 'HD\r\n');
  t.is(r.feed('mg k v\r\n'), 'EN\r\n');
});

test('ms s returns the stored size, N vivifies an append (protocol.txt)', (t) => {
  const r = metaRig();
  t.is(r.feed('ms k 2 s\r\nhi\r\n'), 'HD s2\r\n');
  t.is(r.feed('ms k 3 MA s\r\nyou\r\n'), 'HD s5\r\n');
  t.is(r.feed('ms k 1 MP s c\r\n>\r\n'), 'HD s6 c3\r\n');
  t.is(r.feed('ms none 3 MA s\r\nabc\r\n'), 'NS s3\r\n');
  t.is(r.feed('ms log 4 MA N30 s\r\nline\r\n'), 'HD s4\r\n');
  t.is(r.feed('mg log v t\r\n'), 'VA 4 t30\r\nline\r\n');
  t.is(r.feed('ms log 4 MA N30 T5 s\r\nnext\r\n'), 'HD s8\r\n');
  t.is(r.feed('mg log v t\r\n'), 'VA 8 t30\r\nlinenext\r\n');
  t.is(r.feed('ms pre 1 MP N10\r\n<\r\n'), 'HD\r\n');
  t.is(r.feed('mg pre v t\r\n'), 'VA 1 t10\r\n<\r\n');
});

test('TTLs and last access on the engine clock', (t) => {
  const r = metaRig();
  r.feed('ms k 1 T100\r\nx\r\n');
  r.clock.advance(10);
  t.is(r.feed('mg k t l h\r\n'), 'HD t90 l10 h0\r\n');
  t.is(r.feed('me k\r\n'), 'ME k exp=-90 la=10 cas=1 fetch=yes cls=1 size=42\r\n');
  t.is(r.feed('mg k R80 t\r\n'), 'HD t90\r\n');
  t.is(r.feed('mg k R95 t\r\n'), 'HD t90 W\r\n');
  t.is(r.feed('mg k R95 t\r\n'), 'HD t90 Z\r\n');
  t.is(r.feed('mg k T20 t\r\n'), 'HD t20 Z\r\n');
  r.clock.advance(20);
  t.is(r.feed('mg k v\r\n'), 'EN\r\n');
  t.is(r.feed('ma n N5 J1 v t\r\n'), 'VA 1 t5\r\n1\r\n');
  r.clock.advance(5);
  t.is(r.feed('ma n\r\n'), 'NF\r\n');
  // a negative TTL is already expired; t shows memcached's wrapped uint32
  t.is(r.feed('ms e 1\r\nx\r\n'), 'HD\r\n');
  t.is(r.feed('mg e T-1 t\r\n'), `HD t${(1 - r.clock.now) >>> 0}\r\n`);
  t.is(r.feed('mg e\r\n'), 'EN\r\n');
});

test('one win per invalidation across connections', (t) => {
  const r = metaRig();
  const a = r.connect();
  const b = r.connect();
  a.feed('ms k 1 T100\r\nv\r\n');
  t.is(a.feed('md k I q\r\n'), '');
  t.is(b.feed('mg k v\r\n'), 'VA 1 X W\r\nv\r\n');
  t.is(a.feed('mg k v\r\n'), 'VA 1 Z X\r\nv\r\n');
  // the winner recaches with the CAS it saw; everyone sees fresh data
  const cas = /c(\d+)/.exec(b.feed('mg k c\r\n'))![1];
  t.is(b.feed(`ms k 1 C${cas}\r\nw\r\n`), 'HD\r\n');
  t.is(a.feed('mg k v\r\n'), 'VA 1\r\nw\r\n');
  // vivify: the first miss wins, the next sees Z until someone sets it
  t.is(a.feed('mg n N30 v\r\n'), 'VA 0 W\r\n\r\n');
  t.is(b.feed('mg n N30 v\r\n'), 'VA 0 Z\r\n\r\n');
});

const PIPELINE = [
  'ms a 5 T0 F3 c k O1\r\nhello\r\n',
  'mg a v s f t c k\r\n',
  'ms b 12 q\r\nbin\r\n\x00\xff\r\nabc\r\n',
  'mg b v q k\r\nmg miss v q k\r\nmn\r\n',
  'ma n N0 J9 v\r\n',
  'md a q\r\nmd a\r\n',
  'ms bad 2\r\nabc\r\n',
  'mg Zm9v b k v\r\n',
  'me b\r\n',
  'ms x 3 Z\r\nabc\r\n',
  'mg b v\n',
].join('');

test('a pipeline gives the same replies whole, split anywhere, and byte by byte', (t) => {
  const whole = metaRig().feed(PIPELINE);
  t.true(whole.includes('VA 12 kb\r\nbin\r\n\x00\xff\r\nabc\r\n'));
  t.true(whole.includes('CLIENT_ERROR bad data chunk\r\nERROR\r\n'));
  for (let cut = 1; cut < PIPELINE.length; cut++) {
    const r = metaRig();
    const got = r.feed(PIPELINE.slice(0, cut)) + r.feed(PIPELINE.slice(cut));
    if (got !== whole) {
      t.is(got, whole, `split at ${cut}`);
      return;
    }
  }
  const r = metaRig();
  let got = '';
  for (const c of PIPELINE) got += r.feed(c);
  t.is(got, whole);
});

test('an ms waits for its whole data block and does nothing before', (t) => {
  const r = metaRig();
  t.is(r.feed('ms k 10 c\r\n01234'), '');
  t.is(r.cache.counters.curr_items, 0);
  t.is(r.feed('56789'), '');
  t.is(r.feed('\r'), '');
  t.is(r.feed('\n'), 'HD c1\r\n');
  // an error that swallows the data also waits for it
  t.is(r.feed('ms k 4 Z\r\nab'), '');
  t.is(r.feed('cd\r\nmn\r\n'), 'CLIENT_ERROR invalid flag\r\nMN\r\n');
});

test('large values are answered whole while the item is replaced', (t) => {
  const r = metaRig();
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
  r.feed(Buffer.concat([Buffer.from('ms big 200000\r\n'), big, Buffer.from('\r\n')]));
  const out = r.loop.conn.out;
  const get = Buffer.from('mg big v s\r\n');
  t.is(r.loop.meta.handle(get, 0, 10, 12, 12), 12);
  // overwritten (and the old item unlinked) before the reply is written
  const set = Buffer.from('ms big 1\r\nx\r\n');
  t.is(r.loop.meta.handle(set, 0, 8, 10, 13), 13);
  const parts: Buffer[] = [];
  const pins = out.flush((b) => parts.push(Buffer.from(b)));
  t.truthy(pins, 'a large value is pinned, not copied');
  // written out before the pins are released: the bytes are the old value's
  const reply = Buffer.concat(parts);
  out.release(pins!);
  t.is(reply.subarray(0, 19).toString(), 'VA 200000 s200000\r\n');
  t.true(reply.subarray(19, 19 + big.length).equals(big));
  t.is(reply.subarray(19 + big.length).toString(), '\r\nHD\r\n');
  t.true(reply.includes(big));
});

/** counters that `stats` shows, from the engine and the server counters */
function statsOf(r: ReturnType<typeof metaRig>): Record<string, number> {
  const c = r.cache.counters;
  const cc = r.cache.classCounters;
  const sum = (a: Float64Array): number => a.reduce((x, y) => x + y, 0);
  return {
    cmd_get: c.get_cmds,
    cmd_set: sum(cc.cmd_set),
    cmd_touch: c.touch_cmds,
    cmd_meta: r.ctx.counters.cmd_meta,
    get_hits: sum(cc.get_hits),
    get_misses: c.get_misses,
    get_expired: c.get_expired,
    delete_misses: c.delete_misses,
    delete_hits: sum(cc.delete_hits),
    incr_misses: c.incr_misses,
    incr_hits: sum(cc.incr_hits),
    decr_misses: c.decr_misses,
    decr_hits: sum(cc.decr_hits),
    cas_misses: c.cas_misses,
    cas_hits: sum(cc.cas_hits),
    cas_badval: sum(cc.cas_badval),
    touch_hits: sum(cc.touch_hits),
    touch_misses: c.touch_misses,
    curr_items: c.curr_items,
    total_items: c.total_items,
    store_too_large: r.ctx.counters.store_too_large,
  };
}

test('stats counters move as memcached’s do after meta commands', async (t) => {
  const script = [
    'mg a v\r\nms a 1\r\n1\r\nmg a v\r\nmg a T10\r\nmg b T10\r\nmd a\r\nmd a\r\n',
    'ma a\r\nma a N0\r\nma a MD\r\nma a C1\r\nme a\r\nme zz\r\nmn\r\n',
    'ms a 1 C1\r\n1\r\nms a 1 C99 I\r\n1\r\nms b 1 MA\r\n1\r\nms a 1 ME\r\n1\r\nmg zz N30 v\r\n',
    'ms c 1 C5\r\nx\r\nmd c\r\nmd a C1\r\nmd a I\r\nmg a v\r\nms bad 1\r\nxx\r\n',
    'ms t 1 T-1\r\nx\r\nmg t v\r\nms big 2000000\r\n',
    'x'.repeat(2_000_000) + '\r\n',
    'ms v 2\r\nab\r\nma v\r\nma nf MD\r\nmn\r\n',
  ];
  const mc = await startMemcached(t);
  const client = await RawClient.connect(mc.port);
  for (const s of script) await client.send(s);
  await client.send('mn\r\n');
  await client.readUntil('MN\r\nMN\r\n');
  await client.send('stats\r\n');
  const stats = (await client.readUntil('END\r\n')).toString('latin1');
  await client.close();
  const want: Record<string, number> = {};
  const r = metaRig();
  const got = statsOf(r);
  for (const name of Object.keys(got)) {
    const m = new RegExp(`STAT ${name} (\\d+)`).exec(stats);
    t.truthy(m, name);
    want[name] = Number(m![1]);
  }
  for (const s of script) r.feed(s);
  t.deepEqual(statsOf(r), want);
  t.true(want.get_hits > 0 && want.cas_badval > 0 && want.store_too_large === 1 && want.cmd_meta === 2, JSON.stringify(want));
});
