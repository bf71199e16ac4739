/**
 * Replies on TCP and unix connections are written straight to the socket's handle
 * (src/server/fast-write.ts), not through socket.write. That uses what Node does not
 * document, so these tests fail when a Node version no longer offers it and the
 * daemon has quietly fallen back to the stream path. They also check what the
 * direct path must keep: a reply the kernel cannot take at once still arrives whole
 * and in order, after it the socket's own writes (a streamed reply) come in order,
 * and a graceful stop sends every reply before the close.
 */
import test from 'ava';
import net from 'node:net';
import path from 'node:path';
import { telnet } from './helpers/telnet.js';
import { daemon } from './server-fixture.js';
import { DRAIN_TIMEOUT_MS } from '../src/server/process.js';
import { tmpDir } from './ops-proc.js';
import type { Connection } from '../src/server/connection.js';
import { only, until } from './helpers/daemon-poll.js';

/** Counts the server socket's socket.write calls from now on. */
function spyWrites(conn: Connection): () => number {
  const sock = conn.socket;
  const real = sock.write;
  let n = 0;
  sock.write = function (this: net.Socket, ...args: unknown[]): boolean {
    n++;
    return (real as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof sock.write;
  return () => n;
}

/** Collects what `sock` receives until it holds `want` bytes. */
function receive(sock: net.Socket, want: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    sock.on('data', (b: Buffer) => {
      chunks.push(b);
      got += b.length;
      if (got >= want) resolve(Buffer.concat(chunks));
    });
    sock.on('error', reject);
  });
}

test(`TCP: replies are written to the handle directly on Node ${process.version}`, async (t) => {
  const d = await daemon(t);
  const c = await telnet(t, d.port);
  await c.says('set k 0 0 2\r\nhi\r\nget k\r\n', 'STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n');
  const conn = only(d);
  t.not(conn.direct, null, 'the adopted handle takes the replies');
  // from here on, socket.write would count
  const writes = spyWrites(conn);
  await c.says('get k\r\nmn\r\n', 'VALUE k 0 2\r\nhi\r\nEND\r\nMN\r\n');
  t.is(writes(), 0, 'the reply did not go through socket.write');
});

test(`unix socket: replies are written to the handle directly on Node ${process.version}`, async (t) => {
  const sockPath = path.join(tmpDir(t), 'write.sock');
  const d = await daemon(t, { socketpath: sockPath, interfaces: [] });
  const c = net.connect({ path: sockPath });
  t.teardown(() => c.destroy());
  const want = 'STORED\r\nVALUE u 0 3\r\nabc\r\nEND\r\n';
  const reply = receive(c, want.length);
  c.write('set u 0 0 3\r\nabc\r\nget u\r\n');
  t.is((await reply).toString(), want);
  const conn = only(d);
  t.not(conn.direct, null);
  const writes = spyWrites(conn);
  const next = 'VALUE u 0 3\r\nabc\r\nEND\r\nMN\r\n';
  c.removeAllListeners('data');
  const again = receive(c, next.length);
  c.write('get u\r\nmn\r\n');
  t.is((await again).toString(), next);
  t.is(writes(), 0, 'the reply did not go through socket.write');
});

test('replies the kernel cannot take at once arrive whole and in order, and reading resumes after them', async (t) => {
  const d = await daemon(t, { maxOutputBytes: 64 * 1024 });
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(40 * 1024);
  for (let i = 0; i < v.length; i++) v[i] = 0x21 + (i % 90);
  await c.says(Buffer.concat([Buffer.from(`set v 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const slow = net.connect(d.port, '127.0.0.1');
  t.teardown(() => slow.destroy());
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  const gets = 1000; // 20 MB: more than loopback's socket buffers hold
  let script = '';
  for (let i = 0; i < gets; i++) script += i % 2 === 0 ? 'get v\r\n' : `mn\r\n`;
  slow.write(script);
  await until(() => [...d.connections()].some((x) => x.directPending > 0), 'a direct write to wait in libuv', 20000);
  const one = Buffer.concat([Buffer.from(`VALUE v 0 ${v.length}\r\n`), v, Buffer.from('\r\nEND\r\n')]);
  const expect = Buffer.concat(Array.from({ length: gets }, (_, i) => (i % 2 === 0 ? one : Buffer.from('MN\r\n'))));
  const got = receive(slow, expect.length);
  slow.resume();
  t.true((await got).equals(expect), 'every reply whole and in order');
  // the connection reads again: a request after the drain is answered
  slow.removeAllListeners('data');
  const more = receive(slow, 4);
  slow.write('mn\r\n');
  t.is((await more).toString(), 'MN\r\n');
});

test('a streamed reply after direct writes comes after them, in order', async (t) => {
  const d = await daemon(t, { lruCrawler: true, lruMaintainer: false });
  const c = await telnet(t, d.port);
  await c.says('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  // the get's reply is written directly, the dump's through the socket
  await c.send('get a\r\nlru_crawler metadump all\r\nmn\r\n');
  const head = (await c.readUntil('END\r\n')).toString();
  t.is(head, 'VALUE a 0 1\r\nx\r\nEND\r\n');
  const dump = (await c.readUntil('END\r\n')).toString();
  t.regex(dump, /^key=a exp=-1 la=\d+ cas=\d+ fetch=yes cls=\d+ size=\d+\nEND\r\n$/);
  t.is((await c.readUntil('MN\r\n')).toString(), 'MN\r\n');
});

test('a graceful stop sends every reply still waiting in libuv before closing', async (t) => {
  // the daemon's own drain timeout: a loaded machine may take a while to read it all
  const d = await daemon(t, { maxOutputBytes: 64 * 1024 }, DRAIN_TIMEOUT_MS);
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(64 * 1024, 0x61);
  await c.says(Buffer.concat([Buffer.from(`set v 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const slow = net.connect(d.port, '127.0.0.1');
  t.teardown(() => slow.destroy());
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  const gets = 300; // 20 MB
  slow.write('get v\r\n'.repeat(gets));
  await until(() => [...d.connections()].some((x) => x.directPending > 0), 'a direct write to wait in libuv', 20000);
  const per = `VALUE v 0 ${v.length}\r\n`.length + v.length + 2 + 5;
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve) => slow.on('end', () => resolve()));
  slow.on('data', (b: Buffer) => chunks.push(b));
  const closing = d.close();
  slow.resume();
  await ended;
  await closing;
  const all = Buffer.concat(chunks);
  // every get read before the stop is answered whole
  t.is(all.length % per, 0, `${all.length} bytes is whole replies`);
  t.true(all.length >= per, 'at least the replies waiting in libuv');
});
