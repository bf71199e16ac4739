/**
 * TCP and unix connections read through `onread` into the process's shared read
 * buffer (src/server/fast-read.ts), not through 'data' events, on a socket the
 * listener makes itself from the accepted handle. Neither is public API, so these
 * tests fail when a Node version no longer offers it and the daemon has quietly
 * fallen back to re-wrapping Node's socket, or to the stream path. They
 * also check what sharing one read buffer must not break: a request split across
 * reads keeps its first part while other connections' reads overwrite the buffer,
 * and backpressure really stops the handle's reads.
 */
import test from 'ava';
import { drainPaused } from './helpers/batches.js';
import net from 'node:net';
import path from 'node:path';
import { RawClient, telnet } from './helpers/telnet.js';
import { ext, pkt } from './binary-client.js';
import { daemon } from './server-fixture.js';
import { tmpDir } from './ops-proc.js';
import { handleReading } from '../src/server/fast-read.js';
import type { Connection } from '../src/server/connection.js';
import type { Daemon } from '../src/server/daemon.js';
import { only, until } from './helpers/daemon-poll.js';

test(`TCP: requests are read through onread on Node ${process.version}`, async (t) => {
  const d = await daemon(t);
  const c = await telnet(t, d.port);
  await c.says('set k 0 0 2\r\nhi\r\nget k\r\n', 'STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n');
  const conn = only(d);
  t.true(conn.fastRead, 'the accepted handle was adopted with onread');
  // no 'data' listener: the replies above can only have come through the onread callback
  t.is(conn.socket.listenerCount('data'), 0);
  t.true(handleReading(conn.socket), 'the adopted handle is reading');
  t.is(d.ctx.counters.bytes_read, 'set k 0 0 2\r\nhi\r\nget k\r\n'.length);
  t.is(d.ctx.counters.conns_direct, 1, 'the listener made the socket reading, with no socket of Node\'s to re-wrap');
});

test(`-t 4: the workers read TCP and unix connections through onread on Node ${process.version}`, async (t) => {
  for (const over of [{}, { socketpath: path.join(tmpDir(t), 'fast4.sock'), interfaces: [] }]) {
    const d = await daemon(t, { numThreads: 4, ...over });
    const where = 'socketpath' in over ? { path: over.socketpath } : { host: '127.0.0.1', port: d.port };
    const clients = await Promise.all(Array.from({ length: 16 }, async () => {
      const c = net.connect(where as net.NetConnectOpts);
      t.teardown(() => c.destroy());
      await new Promise((r) => c.once('connect', r));
      return c;
    }));
    await Promise.all(clients.map((c) => new Promise<void>((resolve) => {
      c.once('data', () => resolve());
      c.write('mn\r\n');
    })));
    // every worker's counters are in shared memory the main thread reads
    const sum = (name: 'conns_onread' | 'conns_direct' | 'total_connections'): number =>
      (d.ctx.threadCounters ?? []).slice(0, 4).reduce((a, c) => a + c[name], 0);
    t.is(sum('total_connections'), 16);
    t.is(sum('conns_onread'), 16, 'every connection a worker took reads through onread');
    t.is(sum('conns_direct'), 16, 'every one made reading by the worker\'s listener');
    await d.close();
  }
});

test(`unix socket: requests are read through onread on Node ${process.version}`, async (t) => {
  const sockPath = path.join(tmpDir(t), 'fast.sock');
  const d = await daemon(t, { socketpath: sockPath, interfaces: [] });
  const c = net.connect({ path: sockPath });
  t.teardown(() => c.destroy());
  let got = '';
  const reply = new Promise<string>((resolve, reject) => {
    c.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.endsWith('END\r\n')) resolve(got);
    });
    c.on('error', reject);
    setTimeout(() => reject(new Error(`timed out waiting for the reply, have ${JSON.stringify(got)}`)), 5000).unref();
  });
  c.write('set u 0 0 3\r\nabc\r\nget u\r\n');
  t.is(await reply, 'STORED\r\nVALUE u 0 3\r\nabc\r\nEND\r\n');
  const conn = only(d);
  t.is(conn.transport, 'unix');
  t.true(conn.fastRead, 'the accepted handle was adopted with onread');
  t.is(conn.socket.listenerCount('data'), 0);
  t.is(d.ctx.counters.conns_direct, 1, 'the listener made the socket reading');
});

test('a request split across reads survives other connections reading into the shared buffer', async (t) => {
  const d = await daemon(t);
  const a = await telnet(t, d.port);
  const b = await telnet(t, d.port);
  await a.says('set long-key-a 0 0 5\r\nvalue\r\n', 'STORED\r\n');
  // a's request arrives in pieces; b's reads land in the same buffer in between
  const parts = ['get lon', 'g-ke', 'y-a', '\r', '\n'];
  for (const p of parts) {
    const before = d.ctx.counters.bytes_read;
    await a.send(p);
    await until(() => d.ctx.counters.bytes_read >= before + p.length, 'the piece to be read');
    await b.says('set other 0 0 10\r\nXXXXXXXXXX\r\n', 'STORED\r\n');
  }
  t.is((await a.readUntil('END\r\n')).toString(), 'VALUE long-key-a 0 5\r\nvalue\r\nEND\r\n');
  // a value block split the same way
  await a.send('set v 0 0 8\r\nabcd');
  await b.says('get other\r\n', 'VALUE other 0 10\r\nXXXXXXXXXX\r\nEND\r\n');
  await a.says('efgh\r\nget v\r\n', 'STORED\r\nVALUE v 0 8\r\nabcdefgh\r\nEND\r\n');
});

/** Sends `script` to `a` in pieces of `size`, each read by the daemon before `b` sends a set. */
async function interleaved(d: Daemon, a: RawClient, b: RawClient, script: Buffer, size: number): Promise<void> {
  for (let i = 0; i < script.length; i += size) {
    const piece = script.subarray(i, i + size);
    const before = d.ctx.counters.bytes_read;
    await a.send(piece);
    await until(() => d.ctx.counters.bytes_read >= before + piece.length, 'the piece to be read');
    // b's read lands in the shared read buffer over a's piece
    await b.send('set other 0 0 10\r\nYYYYYYYYYY\r\n');
    if ((await b.read(8)).toString() !== 'STORED\r\n') throw new Error('b: no STORED');
  }
}

test('binary and meta values split across reads survive other connections reading into the shared buffer', async (t) => {
  const d = await daemon(t);
  const a = await RawClient.connect(d.port);
  const m = await RawClient.connect(d.port);
  const b = await RawClient.connect(d.port);
  t.teardown(() => a.close());
  t.teardown(() => m.close());
  t.teardown(() => b.close());
  const value = Buffer.alloc(3000);
  for (let i = 0; i < value.length; i++) value[i] = 0x21 + (i % 90);
  // binary: SET then GET, 13 bytes a read
  const bin = Buffer.concat([pkt({ op: 0x01, key: 'bin-key', extras: ext(7, 0), value }), pkt({ op: 0x00, key: 'bin-key', opaque: 9 })]);
  await interleaved(d, a, b, bin, 13);
  const r = await a.read(24 + 24 + 4 + value.length);
  t.is(r[0], 0x81);
  t.is(r.readUInt16BE(6), 0, 'SET succeeded');
  t.is(r.readUInt16BE(24 + 6), 0, 'GET found it');
  t.is(r.readUInt32BE(24 + 12), 9);
  t.is(r.readUInt32BE(48), 7, 'flags');
  t.true(r.subarray(52).equals(value), 'the value came back byte for byte');
  // meta: ms then mg, 11 bytes a read
  const meta = Buffer.concat([Buffer.from(`ms meta-key ${value.length} F5 T0\r\n`), value, Buffer.from('\r\nmg meta-key v f\r\n')]);
  await interleaved(d, m, b, meta, 11);
  const head = `HD\r\nVA ${value.length} f5\r\n`;
  const got = await m.read(head.length + value.length + 2);
  t.is(got.subarray(0, head.length).toString(), head);
  t.true(got.subarray(head.length, head.length + value.length).equals(value), 'the value came back byte for byte');
});

test('backpressure stops the handle\'s reads, and they start again once the client drains', async (t) => {
  const maxOutputBytes = 64 * 1024;
  const d = await daemon(t, { maxOutputBytes });
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(100 * 1024, 0x62);
  await c.says(Buffer.concat([Buffer.from(`set big 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const sink = net.connect(d.port, '127.0.0.1');
  t.teardown(() => sink.destroy());
  await new Promise((r) => sink.once('connect', r));
  sink.pause(); // reads nothing
  const gets = 200;
  sink.write('get big\r\n'.repeat(gets));
  await until(() => [...d.connections()].some((x) => x.state === 'conn_mwrite'), 'the server to stop reading');
  const conn = [...d.connections()].find((x) => x.state === 'conn_mwrite') as Connection;
  t.true(conn.fastRead);
  t.false(handleReading(conn.socket), 'paused means the handle reads no more');
  const readAtPause = conn.socket.bytesRead;
  // more requests while paused: they stay in the kernel, not in our memory
  await new Promise((r) => sink.write('get big\r\n'.repeat(gets), r));
  await c.says('mn\r\n', 'MN\r\n');
  t.is(conn.socket.bytesRead, readAtPause);
  const want = 2 * gets * (`VALUE big 0 ${v.length}\r\n`.length + v.length + 2 + 5);
  t.is(await drainPaused(sink, want), want);
  t.true(handleReading(conn.socket), 'reading again once drained');
});

test('-R: while a batch waits its turn nothing more is read, so a fast pipeliner cannot grow our buffer', async (t) => {
  const d = await daemon(t, { reqsPerEvent: 2 });
  const c = net.connect(d.port, '127.0.0.1');
  t.teardown(() => c.destroy());
  await new Promise((r) => c.once('connect', r));
  const n = 200_000; // 2.2 MB of requests, sent at once
  let got = 0;
  const done = new Promise<void>((resolve) => {
    c.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= n * 5) resolve();
    });
  });
  c.write('get nokey\r\n'.repeat(n));
  let most = 0;
  const sample = setInterval(() => {
    for (const x of d.connections()) most = Math.max(most, x.unhandledBytes);
  }, 1);
  t.teardown(() => clearInterval(sample));
  await done;
  clearInterval(sample);
  t.is(got, n * 5);
  t.true(d.ctx.counters.conn_yields > 1000, 'the connection yielded at -R');
  // one read (64 KiB) beyond what was left: reading stops while requests wait
  t.true(most > 0 && most <= 2 * 64 * 1024, `at most ${most} bytes were waiting`);
});
