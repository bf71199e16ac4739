/**
 * The classic text protocol, command by command and error by error, as telnet
 * transcripts against our daemon in-process (real sockets, port from the OS).
 * Every expected reply here was taken from memcached 1.6.18 (see
 * text-differential.test.ts, which checks the same against the real binary).
 */
import test from 'ava';
import { RawClient, telnet } from './helpers/telnet.js';
import { daemon } from './server-fixture.js';

const K251 = 'k'.repeat(251);
const K250 = 'k'.repeat(250);

async function mc(t: Parameters<typeof daemon>[0], over: Parameters<typeof daemon>[1] = {}) {
  const d = await daemon(t, over);
  return { d, c: await telnet(t, d.port) };
}

test('set/get/gets with flags, many keys, missing keys', async (t) => {
  const { c } = await mc(t);
  await c.says('set a 5 0 1\r\nx\r\n', 'STORED\r\n');
  await c.says('set b 4294967295 0 2\r\nyz\r\n', 'STORED\r\n');
  await c.says('get a nope b a\r\n', 'VALUE a 5 1\r\nx\r\nVALUE b 4294967295 2\r\nyz\r\nVALUE a 5 1\r\nx\r\nEND\r\n');
  await c.says('gets nope\r\n', 'END\r\n');
  await c.send('gets a\r\n');
  const line = (await c.readUntil('END\r\n')).toString();
  t.regex(line, /^VALUE a 5 1 \d+\r\nx\r\nEND\r\n$/);
  await c.says(`set ${K250} 0 0 1\r\nx\r\nget ${K250}\r\n`, `STORED\r\nVALUE ${K250} 0 1\r\nx\r\nEND\r\n`);
  await c.says('bget a\r\n', 'VALUE a 5 1\r\nx\r\nEND\r\n');
});

test('add, replace, append, prepend, cas', async (t) => {
  const { c } = await mc(t);
  await c.says('add a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await c.says('add a 0 0 1\r\ny\r\n', 'NOT_STORED\r\n');
  await c.says('replace zz 0 0 1\r\ny\r\n', 'NOT_STORED\r\n');
  await c.says('replace a 3 0 1\r\ny\r\n', 'STORED\r\n');
  await c.says('append a 0 0 2\r\nzz\r\n', 'STORED\r\n');
  await c.says('prepend a 0 0 2\r\n01\r\n', 'STORED\r\n');
  await c.says('append zz 0 0 1\r\nx\r\n', 'NOT_STORED\r\n');
  await c.says('get a\r\n', 'VALUE a 3 5\r\n01yzz\r\nEND\r\n');
  await c.send('gets a\r\n');
  const cas = Number(/VALUE a 3 5 (\d+)/.exec((await c.readUntil('END\r\n')).toString())?.[1]);
  await c.says(`cas a 0 0 1 ${cas + 1}\r\nq\r\n`, 'EXISTS\r\n');
  await c.says(`cas a 0 0 1 ${cas}\r\nq\r\n`, 'STORED\r\n');
  await c.says(`cas a 0 0 1 ${cas}\r\nr\r\n`, 'EXISTS\r\n');
  await c.says('cas nope 0 0 1 5\r\nx\r\n', 'NOT_FOUND\r\n');
  await c.says('cas a 0 0 1 abc\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
});

test('noreply on every storage and update command', async (t) => {
  const { c } = await mc(t);
  await c.send('set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\nreplace a 0 0 1 noreply\r\n3\r\n');
  await c.send('append a 0 0 1 noreply\r\n4\r\nprepend a 0 0 1 noreply\r\n5\r\nincr a 1 noreply\r\n');
  await c.send('touch a 100 noreply\r\ndecr a 2 noreply\r\nflush_all 100 noreply\r\nverbosity 1 noreply\r\n');
  await c.says('get a\r\n', 'VALUE a 0 3\r\n533\r\nEND\r\n');
  await c.says('delete a noreply\r\ndelete a 0 noreply\r\nget a\r\n', 'END\r\n');
  // noreply silences errors too
  await c.says(`set ${K251} 0 0 1 noreply\r\nx\r\n`, 'ERROR\r\n');
  await c.says('set a 0 0 1 noreply\r\nxx\r\n', 'ERROR\r\n');
});

test('incr and decr: wrap, floor, non-numeric, bad delta, padding quirk', async (t) => {
  const { c } = await mc(t);
  await c.says('incr n 1\r\n', 'NOT_FOUND\r\n');
  await c.says('set n 0 0 20\r\n18446744073709551615\r\n', 'STORED\r\n');
  await c.says('incr n 1\r\n', '0\r\n');
  await c.says('set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\n', 'STORED\r\n9\r\nVALUE n 0 2\r\n9 \r\nEND\r\n');
  await c.says('decr n 100\r\n', '0\r\n');
  await c.says('incr n 18446744073709551615\r\n', '18446744073709551615\r\n');
  await c.says('incr n -1\r\nincr n abc\r\nincr n 18446744073709551616\r\n',
    'CLIENT_ERROR invalid numeric delta argument\r\n'.repeat(3));
  await c.says('set s 0 0 3\r\n12a\r\nincr s 1\r\n', 'STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  await c.says('set s 0 0 3\r\n 12\r\nincr s 1\r\n', 'STORED\r\n13\r\n');
  await c.says('set s 0 0 0\r\n\r\ndecr s 1\r\n', 'STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  await c.says(`incr ${K251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n');
  await c.says('incr\r\nincr n\r\nincr n 1 2 3\r\n', 'ERROR\r\nERROR\r\nERROR\r\n');
});

test('touch, gat, gats', async (t) => {
  const { c } = await mc(t);
  await c.says('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await c.says('touch a 10\r\ntouch b 10\r\ntouch a abc\r\n', 'TOUCHED\r\nNOT_FOUND\r\nCLIENT_ERROR invalid exptime argument\r\n');
  await c.says('gat 100 a b\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n');
  await c.says('gat abc a\r\ngat 10\r\n', 'CLIENT_ERROR invalid exptime argument\r\nEND\r\n');
  await c.send('gats 0 a\r\n');
  t.regex((await c.readUntil('END\r\n')).toString(), /^VALUE a 0 1 \d+\r\nx\r\nEND\r\n$/);
  await c.says('gat -1 a\r\nget a\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\nEND\r\n');
  await c.says(`touch ${K251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n');
});

test('delete: the only hold time allowed is 0', async (t) => {
  const { c } = await mc(t);
  await c.says('set a 0 0 1\r\nx\r\ndelete a 0\r\ndelete a\r\n', 'STORED\r\nDELETED\r\nNOT_FOUND\r\n');
  const usage = 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n';
  await c.says('delete a 1\r\ndelete a x y\r\n', usage + usage);
  await c.says(`delete ${K251}\r\ndelete\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
});

test('exptime and flags parse as memcached does', async (t) => {
  const { c } = await mc(t);
  await c.says('set a 4294967296 0 1\r\nx\r\nget a\r\n', 'STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n');
  await c.says('set a +5 0 1\r\nx\r\nget a\r\n', 'STORED\r\nVALUE a 5 1\r\nx\r\nEND\r\n');
  await c.says('set a -1 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  await c.says('set a 5x 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  await c.says('set a 0 -1 1\r\nx\r\nget a\r\n', 'STORED\r\nEND\r\n'); // negative: expired at once
  await c.says('set a 0 99999999999 1\r\nx\r\nget a\r\n', 'STORED\r\nEND\r\n'); // int32 truncation
  await c.says('set a 0 4294967396 1\r\nx\r\nget a\r\n', 'STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n'); // = 100 s
  await c.says('set a 0 0 -1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  await c.says('set a 0 0 4294967297\r\nx\r\n', 'STORED\r\n'); // length truncated to 1
});

test('bad data chunk, wrong word counts, unknown commands', async (t) => {
  const { c } = await mc(t);
  await c.says('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await c.says('set a 1 0 1\r\nxyz\r\nget a\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 0 1\r\nx\r\nEND\r\n');
  await c.says('set a 0 0\r\nset a 0 0 1 2 3\r\ncas a 0 0 1\r\n', 'ERROR\r\n'.repeat(3));
  await c.says(`set a 0 0 1${' x'.repeat(25)}\r\n`, 'ERROR\r\n');
  await c.says('get\r\nGET a\r\n\r\n\nx\r\nfoo bar\r\n', 'ERROR\r\n'.repeat(6));
  await c.says('set a\t0 0 1\r\nx\r\n', 'ERROR\r\nERROR\r\n');
  await c.says(`set ${K251} 0 0 1\r\nx\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  await c.says(`get a ${K251} b\r\n`, 'CLIENT_ERROR bad command line format\r\n');
  await c.says('get a\u0000 b\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n');
  await c.says('set a 0 0 1\nx\r\nget a\n', 'STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n');
});

test('flush_all, version, verbosity, cache_memlimit, shutdown without -A', async (t) => {
  const { d, c } = await mc(t);
  await c.says('set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\n', 'STORED\r\nOK\r\nEND\r\n');
  await c.says('flush_all 0\r\nflush_all noreply\r\nflush_all abc\r\nflush_all -1\r\nflush_all 1 2\r\nflush_all 1 2 3\r\n',
    'OK\r\nCLIENT_ERROR invalid exptime argument\r\nOK\r\nOK\r\nERROR\r\n');
  t.is(d.ctx.counters.cmd_flush, 6);
  await c.send('version\r\n');
  t.regex((await c.readUntil('\r\n')).toString(), /^VERSION 1\.6\.18-slabcache-\S+\r\n$/);
  await c.says('verbosity\r\nverbosity 1\r\nverbosity abc\r\nverbosity 1 2\r\nverbosity 1 2 3\r\n',
    'ERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\nOK\r\nERROR\r\n');
  t.is(d.ctx.settings.verbose, 1);
  await c.says('cache_memlimit\r\ncache_memlimit 100\r\ncache_memlimit 2\r\ncache_memlimit abc\r\ncache_memlimit 2000000000\r\n',
    'ERROR\r\nOK\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nERROR\r\nMEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n');
  t.is(d.ctx.settings.maxbytes, 100 * 1024 * 1024);
  await c.says('shutdown\r\nshutdown graceful\r\n', 'ERROR: shutdown not enabled\r\n'.repeat(2));
  t.deepEqual(d.shutdowns, []);
});

test('flush_all refused with -F', async (t) => {
  const { d, c } = await mc(t, { flushEnabled: false });
  await c.says('flush_all\r\n', 'CLIENT_ERROR flush_all not allowed\r\n');
  t.is(d.ctx.counters.cmd_flush, 1);
});

test('shutdown with -A closes the connection and asks the daemon to stop', async (t) => {
  const { d, c } = await mc(t, { shutdownEnabled: true });
  await c.says('shutdown now\r\n', 'CLIENT_ERROR invalid shutdown mode\r\n');
  await c.send('shutdown graceful\r\n');
  await c.expectClosed('');
  const c2 = await telnet(t, d.port);
  await c2.send('shutdown\r\n');
  await c2.expectClosed('');
  t.deepEqual(d.shutdowns, [true, false]);
});

test('quit sends what came before it, then closes; HTTP requests are dropped', async (t) => {
  const { d, c } = await mc(t);
  await c.send('set a 0 0 1\r\nx\r\nquit\r\nget a\r\n');
  await c.expectClosed('STORED\r\n');
  const h = await telnet(t, d.port);
  await h.send('GET / HTTP/1.1\r\n');
  await h.expectClosed('');
});

test('stats is formatted from the stats module; unknown subcommands are ERROR', async (t) => {
  const { c } = await mc(t);
  await c.send('stats\r\n');
  const s = (await c.readUntil('END\r\n')).toString();
  t.regex(s, /^STAT pid \d+\r\n/);
  t.regex(s, /STAT curr_connections 1\r\n/);
  await c.says('stats foo\r\nstats detail\r\nstats reset\r\n', 'ERROR\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\nRESET\r\n');
});

test('lines: 2048 bytes without newline wait, more close (except a multiget)', async (t) => {
  const d = await daemon(t);
  const ok = await telnet(t, d.port);
  await ok.send('x'.repeat(2048));
  await ok.says('\r\n', 'ERROR\r\n');
  const long = await telnet(t, d.port);
  await long.send('x'.repeat(2100) + '\r\n'); // whole line in one read: just unknown
  await long.says('', 'ERROR\r\n');
  const bad = await telnet(t, d.port);
  await bad.send('version\r\n' + 'x'.repeat(2049));
  await bad.expectClosed(''); // memcached drops the queued VERSION too
  const mget = await telnet(t, d.port);
  await mget.send(`get ${'a '.repeat(3000)}`);
  await mget.says('b\r\n', 'END\r\n');
  const gat = await telnet(t, d.port);
  await gat.send(`gat 1 ${'a '.repeat(3000)}`);
  await gat.expectClosed('');
});

test('a value over -I is refused and swallowed; a failed set drops the old value', async (t) => {
  const { c } = await mc(t, { itemSizeMax: 1024 * 1024 });
  const big = 'v'.repeat(2 * 1024 * 1024);
  await c.says('set k 0 0 1\r\nA\r\n', 'STORED\r\n');
  await c.says(`add k 0 0 ${big.length}\r\n${big}\r\nget k\r\n`,
    'SERVER_ERROR object too large for cache\r\nVALUE k 0 1\r\nA\r\nEND\r\n');
  await c.says(`set k 0 0 ${big.length}\r\n${big}zzget k\r\n`, 'SERVER_ERROR object too large for cache\r\nEND\r\n');
  await c.says(`set k 0 0 ${big.length} noreply\r\n${big}\r\nget k\r\n`, 'END\r\n');
});

test('-M: out of memory is an error, not an eviction', async (t) => {
  const { d, c } = await mc(t, { maxbytes: 2 * 1024 * 1024, evictToFree: false });
  const v = 'v'.repeat(100 * 1024);
  let reply = '';
  for (let i = 0; i < 40 && !reply.startsWith('SERVER_ERROR'); i++) {
    await c.send(`set k${i} 0 0 ${v.length}\r\n${v}\r\n`);
    reply = (await c.readUntil('\r\n')).toString();
  }
  t.is(reply, 'SERVER_ERROR out of memory storing object\r\n');
  t.true(d.ctx.counters.store_no_memory >= 1);
  await c.says('get k0\r\n', `VALUE k0 0 ${v.length}\r\n${v}\r\nEND\r\n`);
});

test('meta commands are routed to meta.ts', async (t) => {
  const { c } = await mc(t);
  await c.says('mn\r\nmx\r\nms a 1\r\nx\r\nmg a v\r\n', 'MN\r\nERROR\r\nHD\r\nVA 1\r\nx\r\n');
});

test('requests split at every byte give the same replies as whole', async (t) => {
  const d = await daemon(t);
  const session = 'set a 0 0 5\r\nhello\r\nget a b\r\nappend a 0 0 1 noreply\r\n!\r\nincr n 1\r\n'
    + 'set n 0 0 1\r\n7\r\nincr n 5\r\ngets zz\r\ndelete a\r\nset b 1 0 3\r\nabX\r\nbogus\n'
    + 'touch n 0\r\nmn\r\n';
  const whole = await RawClient.connect(d.port);
  t.teardown(() => whole.close());
  await whole.send(session);
  const expected = (await whole.readUntil('MN\r\n')).toString('latin1');
  t.true(expected.startsWith('STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\n'));
  // one byte per write
  const slow = await RawClient.connect(d.port);
  t.teardown(() => slow.close());
  slow.socket.setNoDelay(true);
  await slow.send('flush_all noreply\r\n');
  for (const ch of Buffer.from(session, 'latin1')) {
    await slow.send(Buffer.from([ch]));
    await new Promise((r) => setImmediate(r));
  }
  t.is((await slow.readUntil('MN\r\n')).toString('latin1'), expected);
  // split in two at every offset
  for (let cut = 1; cut < session.length; cut++) {
    const c = await RawClient.connect(d.port);
    await c.send('flush_all noreply\r\n' + session.slice(0, cut));
    await new Promise((r) => setImmediate(r));
    await c.send(session.slice(cut));
    const got = (await c.readUntil('MN\r\n')).toString('latin1');
    await c.close();
    if (got !== expected) {
      t.is(got, expected, `split at ${cut}`);
      return;
    }
  }
  t.pass();
});

test('hundreds of pipelined requests in one write', async (t) => {
  const d = await daemon(t);
  const c = await telnet(t, d.port);
  let req = '';
  let want = '';
  for (let i = 0; i < 300; i++) {
    req += `set key${i} ${i} 0 ${String(i).length}\r\n${i}\r\nget key${i}\r\nincr key${i} 1\r\n`;
    want += `STORED\r\nVALUE key${i} ${i} ${String(i).length}\r\n${i}\r\nEND\r\n${i + 1}\r\n`;
  }
  await c.says(req, want);
  t.true(d.ctx.counters.conn_yields > 0, '-R 20 made the connection yield');
});

test('-B ascii: a first byte of 0x80 is just text', async (t) => {
  const { c } = await mc(t, { protocol: 'ascii' });
  await c.says(Buffer.from('\x80get a\r\nget a\r\n', 'latin1'), 'ERROR\r\nEND\r\n');
  // the closing probe would be binary after a first byte of 0x80: end with a text one here
  await c.says('mn\r\n', 'MN\r\n');
  await c.close();
});
