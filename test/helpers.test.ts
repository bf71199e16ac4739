/**
 * The test harness, proven against the real memcached: if these pass, a failing
 * differential test means slabcache differs, not that the harness is wrong.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { maskVolatile, playBoth, playOne } from './helpers/differential.js';
import { freePort, REPO_ROOT, startMemcached, startSlabcache } from './helpers/memcached.js';
import { bytesAfterLastExchange, RawClient, telnet, visible } from './helpers/telnet.js';

/** The built daemon must be the real one, not the early placeholder. */
const daemonBuilt = (() => {
  try {
    return !readFileSync(join(REPO_ROOT, 'dist', 'src', 'server', 'daemon.js'), 'utf8').includes('daemon not built yet');
  } catch {
    return false;
  }
})();

/** What a failed assertion shows (ava keeps the formatted values on the error). */
function details(e: Error): string {
  return JSON.stringify((e as Error & { formattedDetails?: unknown }).formattedDetails ?? []);
}

test('telnet: set and get on real memcached', async (t) => {
  const server = await startMemcached(t);
  const mc = await telnet(t, server);
  await mc.says('set a 0 0 5\r\nhello\r\n', 'STORED\r\n');
  await mc.says('get a\r\n', 'VALUE a 0 5\r\nhello\r\nEND\r\n');
  await mc.says('get nothing\r\n', 'END\r\n');
  await mc.says('delete a\r\n', 'DELETED\r\n');
  await mc.says('delete a\r\n', 'NOT_FOUND\r\n');
});

test('telnet: a request split across writes, and pipelined requests', async (t) => {
  const mc = await telnet(t, await startMemcached(t));
  await mc.send('set k 5 0 3\r');
  await mc.send('\nab');
  await mc.says('c\r\n', 'STORED\r\n');
  await mc.says('get k\r\nget k\r\n', 'VALUE k 5 3\r\nabc\r\nEND\r\nVALUE k 5 3\r\nabc\r\nEND\r\n');
});

test('telnet: readUntil, read and the server pid', async (t) => {
  const server = await startMemcached(t);
  const mc = await telnet(t, server);
  await mc.send('stats\r\n');
  const stats = (await mc.readUntil('END\r\n')).toString();
  t.regex(stats, new RegExp(`^STAT pid ${server.pid}\\r\\n`));
  await mc.send('version\r\n');
  t.is((await mc.read(8)).toString(), 'VERSION ');
  t.regex((await mc.readUntil('\r\n')).toString(), /^\d+\.\d+\.\d+\r\n$/);
});

test('telnet: expectClosed after quit', async (t) => {
  const mc = await telnet(t, await startMemcached(t));
  await mc.send('quit\r\n');
  await mc.expectClosed('');
});

test('telnet: a wrong reply fails at once with \\r\\n visible; a missing one times out', async (t) => {
  const server = await startMemcached(t);
  const wrong = await t.try(async (tt) => {
    const mc = await telnet(tt, server);
    await mc.says('get nothing\r\n', 'NOPE\r\n');
  });
  const message = wrong.errors.map((e) => `${e.message} ${details(e)}`).join('\n');
  const wrongPassed = wrong.passed;
  wrong.discard();
  t.false(wrongPassed);
  t.regex(message, /END\\+r\\+n/, 'the diff spells out \\r\\n');

  const slow = await t.try(async (tt) => {
    const mc = await telnet(tt, server);
    await mc.says('get nothing\r\n', 'END\r\nand more\r\n', 200);
  });
  const slowMessages = slow.errors.map((e) => e.message).join('\n');
  const slowPassed = slow.passed;
  slow.discard();
  t.false(slowPassed);
  t.true(slowMessages.includes('timed out after 200 ms'), slowMessages);
});

test('telnet: the closing probe sees bytes after the last exchange, text and binary', async (t) => {
  const server = await startMemcached(t);
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  await c.send('get a\r\nget a\r\n');
  await c.readUntil('END\r\n');
  t.is((await bytesAfterLastExchange(c, false))?.toString(), 'END\r\n', 'the second END was never read');
  t.is(await bytesAfterLastExchange(c, false), null, 'all read: nothing extra');
  const b = await RawClient.connect(server.port);
  t.teardown(() => b.close());
  const getq = Buffer.alloc(25);
  getq[0] = 0x80;
  getq[1] = 0x00; // GET of a missing key: a NOT FOUND response nobody reads
  getq.writeUInt16BE(1, 2);
  getq.writeUInt32BE(1, 8);
  getq[24] = 0x61;
  await b.send(getq);
  const extra = await bytesAfterLastExchange(b, true);
  t.is(extra?.length, 24 + 9, 'the unread response, up to the NOOP');
  t.is(extra?.readUInt16BE(6), 1, 'key not found');
});

test('visible spells out control bytes', (t) => {
  t.is(visible('a\r\nb'), 'a\\r\\n\nb');
  t.is(visible(Buffer.from([0x80, 0x00, 0x41])), '\\x80\\x00A');
});

test('startMemcached: each server gets its own free port', async (t) => {
  const [a, b] = await Promise.all([startMemcached(t), startMemcached(t)]);
  t.not(a.port, b.port);
  const port = await freePort();
  t.true(port > 0 && port < 65536);
});

test('startMemcached: a port taken before the bind is retried with another', async (t) => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const taken = (busy.address() as net.AddressInfo).port;
  const offered: number[] = [];
  const server = await startMemcached(t, [], {
    pickPort: async () => {
      const port = offered.length === 0 ? taken : await freePort();
      offered.push(port);
      return port;
    },
  });
  t.is(offered.length, 2);
  t.is(server.port, offered[1]);
  const mc = await telnet(t, server);
  await mc.says('version\r\n', 'VERSION 1.6.18\r\n');
});

test('startMemcached: flags reach the server', async (t) => {
  const server = await startMemcached(t, ['-m', '8', '-c', '77']);
  const mc = await telnet(t, server);
  await mc.send('stats settings\r\n');
  const settings = (await mc.readUntil('END\r\n')).toString();
  t.true(settings.includes('STAT maxbytes 8388608\r\n'));
  t.true(settings.includes('STAT maxconns 77\r\n'));
  t.true(settings.includes(`STAT tcpport ${server.port}\r\n`));
});

test('startMemcached: a refused command line rejects with the server output', async (t) => {
  const err = await t.throwsAsync(startMemcached(t, ['-f', '1']));
  t.true(err?.message.includes('Factor must be greater than 1'), err?.message);
});

test('startSlabcache: runs bin/slabcache.js; a bad flag rejects with its message', async (t) => {
  const err = await t.throwsAsync(startSlabcache(t, ['-m', 'abc']));
  t.true(err?.message.includes('-m/--memory-limit "abc"'), err?.message);
});

test('playOne: sentinel ends each step, even with no reply', async (t) => {
  const server = await startMemcached(t);
  const { replies, transcript } = await playOne(server, [
    'set a 0 0 1\r\nx\r\n',
    'set b 0 0 1 noreply\r\ny\r\n',
    'get a b\r\n',
    { send: 'stats\r\n', until: 'END\r\n' },
    { send: 'set c 0 0 2\r\n', until: 'none' },
    'hi\r\n',
    { send: 'quit\r\n', until: 'close' },
    'get a\r\n',
  ]);
  t.deepEqual(
    replies.map((r) => (r.request.toString().startsWith('stats') ? 'stats' : r.bytes.toString())),
    ['STORED\r\n', '', 'VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n', 'stats', '', 'STORED\r\n', '', ''],
  );
  t.true(replies[6].closed);
  t.true(replies[7].closed);
  t.true(transcript.includes('> get a b\\r\\n\n< VALUE a 0 1\\r\\n\n< x\\r\\n'), transcript);
  t.true(transcript.includes('STAT pid <pid>'), transcript);
  t.true(transcript.includes('< [connection closed]'), transcript);
});

test('playOne: binary steps end with a binary NOOP', async (t) => {
  const server = await startMemcached(t);
  // binary GET of key "a": magic, opcode 0x00, key length 1, body length 1
  const get = Buffer.alloc(25);
  get[0] = 0x80;
  get.writeUInt16BE(1, 2);
  get.writeUInt32BE(1, 8);
  get[24] = 0x61;
  const { replies } = await playOne(server, [get]);
  const reply = replies[0].bytes;
  t.is(reply[0], 0x81);
  t.is(reply.readUInt16BE(6), 0x0001, 'status: key not found');
  t.is(reply.length, 24 + reply.readUInt32BE(8), 'exactly the GET reply, the NOOP reply cut off');
});

test('playOne: the version sentinel and the quiet fallback', async (t) => {
  const server = await startMemcached(t);
  const v = await playOne(server, ['set a 0 0 1\r\nx\r\n', 'get a\r\n'], { sentinel: 'version' });
  t.deepEqual(v.replies.map((r) => r.bytes.toString()), ['STORED\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n']);
  // silence before the first byte ends a quiet step too: leave a loaded machine a second
  const q = await playOne(server, ['get a\r\n'], { until: 'quiet', quietMs: 1000 });
  t.is(q.replies[0].bytes.toString(), 'VALUE a 0 1\r\nx\r\nEND\r\n');
});

test('maskVolatile: stats, versions, connections and (when asked) CAS', (t) => {
  t.is(maskVolatile('STAT pid 123\r\nSTAT curr_items 5\r\nEND\r\n'), 'STAT pid <pid>\r\nSTAT curr_items 5\r\nEND\r\n');
  t.is(maskVolatile('VERSION 1.6.18\r\n'), 'VERSION <version>\r\n');
  t.is(maskVolatile('STAT 27:addr tcp:127.0.0.1:40000\r\n'), 'STAT <conn>:addr tcp:<addr>\r\n');
  t.is(maskVolatile('VALUE a 0 1 42\r\nx\r\nEND\r\n', { cas: true }), 'VALUE a 0 1 <cas>\r\nx\r\nEND\r\n');
  t.is(maskVolatile('VALUE a 0 1 42\r\nx\r\nEND\r\n'), 'VALUE a 0 1 42\r\nx\r\nEND\r\n');
  t.is(maskVolatile('HD c99 t-1\r\nVA 1 f0 c7\r\nx\r\n', { cas: true }), 'HD c<cas> t-1\r\nVA 1 f0 c<cas>\r\nx\r\n');
  t.is(maskVolatile('STAT x 1\r\n', { replace: [[/STAT x \d+/, 'STAT x <n>']] }), 'STAT x <n>\r\n');
});

test('playBoth: two memcacheds agree once volatile fields are masked', async (t) => {
  const [a, b] = await Promise.all([startMemcached(t), startMemcached(t)]);
  // make the CAS counters differ, so only masking can make the transcripts equal
  const warm = await telnet(t, b);
  await warm.says('set w 0 0 1\r\nw\r\n', 'STORED\r\n');
  const script = [
    'set a 0 0 1\r\nx\r\n',
    'gets a\r\n',
    'mg a v c\r\n',
    'version\r\n',
    { send: 'stats settings\r\n', until: 'END\r\n' },
  ];
  await playBoth(t, script, { servers: { memcached: a, slabcache: b }, mask: { cas: true } });
  await playBoth(t, script.slice(0, 1), { servers: { memcached: a, slabcache: b }, compare: 'steps' });
});

test('playBoth: a real difference fails and shows both transcripts', async (t) => {
  const [a, b] = await Promise.all([startMemcached(t), startMemcached(t, ['-I', '2m'])]);
  const attempt = await t.try((tt) =>
    playBoth(tt, [{ send: 'stats settings\r\n', until: 'END\r\n' }], { servers: { memcached: a, slabcache: b } }).then(() => {}),
  );
  const values = attempt.errors.map(details).join('\n');
  const passed = attempt.passed;
  attempt.discard();
  t.false(passed);
  t.true(values.includes('item_size_max'), values);
});

test('playBoth: slabcache answers basic commands like memcached', async (t) => {
  t.true(daemonBuilt, 'dist/ holds the real daemon (npm test builds it)');
  await playBoth(t, [
    'set a 0 0 5\r\nhello\r\n',
    'get a\r\n',
    'get missing\r\n',
    'delete a\r\n',
    'get a\r\n',
    'version\r\n',
  ]);
});
