/**
 * MetaCommands.handle() in-process, for what sockets can't pin down: exact TTLs
 * and last-access times on a manual clock, every split of a pipelined request,
 * the -1 wait for an ms data block, and a pinned large value outliving an
 * overwrite. (Everything else is tested over sockets against the real daemon:
 * meta-differential, meta-property and meta-server.)
 */
import test from 'ava';
import { metaRig } from './meta-helpers.js';

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
  // an error swallows its data block; the connection carries on after it
  const early = r.feed('ms k 4 Z\r\nab');
  t.is(early + r.feed('cd\r\nmn\r\n'), 'CLIENT_ERROR invalid flag\r\nMN\r\n');
});

test('a rejected ms block is discarded as it arrives', (t) => {
  {
    const r = metaRig();
    const chunk = 'x'.repeat(64 * 1024);
    let got = r.feed('ms k 1 q\r\nv\r\nms k 500000 Z\r\n');
    for (let sent = 0; sent < 500000; sent += chunk.length) {
      got += r.feed(chunk.slice(0, Math.min(chunk.length, 500000 - sent)));
      // the text protocol streams it: nothing piles up
      t.is(r.loop.pending.length, 0);
    }
    got += r.feed('\r\nmg k v\r\n');
    t.is(got, 'CLIENT_ERROR invalid flag\r\nVA 1\r\nv\r\n');
    // past -I: answered at once, the old value dropped, the block discarded
    got = r.feed('ms k 3000000 T0\r\n' + chunk);
    t.is(got, 'SERVER_ERROR object too large for cache\r\n');
    for (let sent = chunk.length; sent < 3000000; sent += chunk.length) {
      got += r.feed(chunk.slice(0, Math.min(chunk.length, 3000000 - sent)));
    }
    got += r.feed('\r\nmg k v\r\nmn\r\n');
    t.is(got, 'SERVER_ERROR object too large for cache\r\nEN\r\nMN\r\n');
    t.is(r.ctx.counters.store_too_large, 1);
  }
});

test('large values are answered whole while the item is replaced', (t) => {
  const r = metaRig();
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
  r.feed(Buffer.concat([Buffer.from('ms big 200000\r\n'), big, Buffer.from('\r\n')]));
  const out = r.loop.conn.out;
  // overwritten (and the old item unlinked) in the same read, before the reply is written
  r.loop.process('mg big v s\r\nms big 1\r\nx\r\n');
  t.is(r.loop.pending.length, 0);
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
