/**
 * A get line of more than 32 keys stops every 32 keys once another thread sleeps
 * waiting for the engine lock, and goes on at its next turn. Nothing else gives way
 * to a waiter: memcached's replies can depend on whether the rest of a read runs
 * before it transmits (a long junk line after `version` closes with nothing sent;
 * only the last auth reply of a read goes out), so a batch runs whole, as there.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cache } from '../src/cache/engine.js';
import { BinaryProtocol } from '../src/protocol/binary.js';
import { TextProtocol } from '../src/protocol/text.js';
import { protoRig } from './helpers/proto-rig.js';
import { releaseToSleeper } from './helpers/lock-waiter.js';
import { pkt } from './binary-client.js';

/** An engine another thread can wait on. */
const SHARED = { sharedMemory: true };

/** fn() holding the cache's lock while another thread sleeps waiting for it; then lets that thread in. */
async function withWaiter(cache: Cache, fn: () => void): Promise<void> {
  void cache.shared; // handed out: the lock now works across threads
  cache.lock.enter();
  await releaseToSleeper(cache.lock, fn);
}

test('text: a pipelined batch is not cut while another thread waits', async (t) => {
  const r = protoRig((ctx, conn) => new TextProtocol(ctx, conn), {}, SHARED);
  const five = Buffer.from('version\r\n'.repeat(5), 'latin1');
  let n = -1;
  await withWaiter(r.cache, () => {
    n = r.proto.process(five, 0, five.length);
  });
  t.is(n, five.length);
  t.false(r.proto.yielded);
});

test('text: a long multiget stops after 32 keys while another thread waits, and goes on', async (t) => {
  const r = protoRig((ctx, conn) => new TextProtocol(ctx, conn), {}, SHARED);
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  r.feed(Buffer.from(keys.map((k) => `set ${k} 0 0 1\r\nv\r\n`).join(''), 'latin1'));
  r.output();
  const line = Buffer.from(`get ${keys.join(' ')}\r\n`, 'latin1');
  const value = (k: string): string => `VALUE ${k} 0 1\r\nv\r\n`;
  const yields = r.ctx.counters.conn_yields; // 40 pipelined sets took -R turns
  let n = -1;
  await withWaiter(r.cache, () => {
    n = r.proto.process(line, 0, line.length);
  });
  t.is(n, 0, 'the line stays for the next turn');
  t.true(r.proto.yielded);
  t.is(r.ctx.counters.conn_yields, yields, 'not an -R yield');
  t.is(r.output().toString('latin1'), keys.slice(0, 32).map(value).join(''));
  t.is(r.proto.process(line, 0, line.length), line.length);
  t.is(r.output().toString('latin1'), keys.slice(32).map(value).join('') + 'END\r\n');
});

test('text: a short multiget is answered whole while another thread waits', async (t) => {
  const r = protoRig((ctx, conn) => new TextProtocol(ctx, conn), {}, SHARED);
  r.feed(Buffer.from('set a 0 0 1\r\nA\r\nset b 0 0 1\r\nB\r\n', 'latin1'));
  r.output();
  const line = Buffer.from('get a b\r\n', 'latin1');
  let n = -1;
  await withWaiter(r.cache, () => {
    n = r.proto.process(line, 0, line.length);
  });
  t.is(n, line.length);
  t.is(r.output().toString('latin1'), 'VALUE a 0 1\r\nA\r\nVALUE b 0 1\r\nB\r\nEND\r\n');
});

test('text: before login a batch is not cut for a waiter, so only its last auth reply goes out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'slabcache-lock-yield-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pwdb = join(dir, 'pwdb');
  writeFileSync(pwdb, 'alice:secret\n');
  const r = protoRig((ctx, conn) => new TextProtocol(ctx, conn), { authFile: pwdb }, SHARED);
  r.conn.authenticated = false; // as a real connection starts
  // memcached answers this read with STORED alone: each auth reply replaces the last
  const script = Buffer.from('set x 0 0 abc\r\nset x 0 0 12\r\nalice secret\r\n', 'latin1');
  let n = -1;
  await withWaiter(r.cache, () => {
    n = r.proto.process(script, 0, script.length);
  });
  t.is(n, script.length);
  t.false(r.proto.yielded);
  t.is(r.output().toString('latin1'), 'STORED\r\n');
});

test('binary: a pipelined batch is not cut while another thread waits', async (t) => {
  const r = protoRig((ctx, conn) => new BinaryProtocol(ctx, conn), {}, SHARED);
  const five = Buffer.concat(Array.from({ length: 5 }, (_, i) => pkt({ op: 0x0a, opaque: i })));
  let n = -1;
  await withWaiter(r.cache, () => {
    n = r.proto.process(five, 0, five.length);
  });
  t.is(n, 5 * 24);
  t.false(r.proto.yielded);
});
