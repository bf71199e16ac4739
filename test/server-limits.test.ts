/**
 * The network layer's limits, on real loopback sockets: -c, idle_timeout, -R
 * fairness, backpressure from a client that never reads, and the rule that
 * replies never read freed memory (a slow reader of a large value gets the
 * original bytes while the key is overwritten and evicted meanwhile).
 */
import test, { type ExecutionContext } from 'ava';
import { drainPaused } from './helpers/batches.js';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { RawClient, telnet } from './helpers/telnet.js';
import { daemon } from './server-fixture.js';

/** Waits (without sleeping blindly) until cond() holds, polling each event-loop turn. */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** n clients, each answered once, so every one holds a connection slot. */
async function connected(t: ExecutionContext, port: number, n: number): Promise<Awaited<ReturnType<typeof telnet>>[]> {
  const open = [];
  for (let i = 0; i < n; i++) {
    const c = await telnet(t, port);
    await c.says('mn\r\n', 'MN\r\n');
    open.push(c);
  }
  return open;
}

test('-c: over the limit a client gets memcached\'s error and is closed; a freed slot is reused', async (t) => {
  const d = await daemon(t, { maxconns: 3 });
  const open = await connected(t, d.port, 3);
  const over = await telnet(t, d.port);
  await over.expectClosed('ERROR Too many open connections\r\n');
  t.is(d.ctx.counters.rejected_connections, 1);
  await open[0].close();
  await until(() => d.ctx.counters.curr_connections === 2, 'the closed slot to free');
  const again = await telnet(t, d.port);
  await again.says('mn\r\n', 'MN\r\n');
  t.is(d.ctx.counters.curr_connections, 3);
});

test('-c with no_maxconns_fast: a client over the limit waits unanswered until a slot frees', async (t) => {
  const d = await daemon(t, { maxconns: 3, maxconnsFast: false });
  const open = await connected(t, d.port, 3);
  const over = await telnet(t, d.port);
  await over.send('mn\r\n');
  await until(() => d.ctx.counters.listen_disabled_num === 1, 'the daemon to stop accepting');
  // a full round trip on another connection: anything the daemon sent `over` came first
  await open[1].send('stats\r\n');
  const stats = (await open[1].readUntil('END\r\n')).toString('latin1');
  t.regex(stats, /STAT accepting_conns 0\r\n/);
  t.regex(stats, /STAT listen_disabled_num 1\r\n/);
  t.notRegex(stats, /rejected_connections/, 'memcached shows rejected_connections only with maxconns_fast');
  t.is(over.raw.pending.length, 0, 'no reply, no error while over the limit');
  t.false(over.raw.isClosed);
  await open[0].close();
  await over.says('', 'MN\r\n');
  await open[1].send('stats\r\n');
  const after = (await open[1].readUntil('END\r\n')).toString('latin1');
  t.regex(after, /STAT accepting_conns 1\r\n/);
  t.true(Number(/STAT time_in_listen_disabled_us (\d+)/.exec(after)?.[1]) > 0, 'the time held is counted');
  t.is(d.ctx.counters.curr_connections, 3);
  t.is(d.ctx.counters.rejected_connections, 0);
});

test('idle_timeout: a quiet client is kicked and counted, a busy one stays', async (t) => {
  // 2 s, with the busy client writing every 100 ms: room for a loaded test machine
  const d = await daemon(t, { idleTimeout: 2 });
  const quiet = await telnet(t, d.port);
  // the busy client never reads its MNs: it only keeps the connection active
  const busy = await telnet(t, d.port, undefined, { probe: false });
  const timer = setInterval(() => void busy.send('mn\r\n'), 100);
  t.teardown(() => clearInterval(timer));
  await quiet.expectClosed('', 15_000);
  t.is(d.ctx.counters.idle_kicks, 1);
  clearInterval(timer);
  t.false(busy.raw.isClosed);
});

test('-R: a connection yields after R requests so another is served meanwhile', async (t) => {
  const d = await daemon(t, { reqsPerEvent: 1 });
  const a = await RawClient.connect(d.port);
  const b = await RawClient.connect(d.port);
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const n = 5000;
  let aBytesAtB = -1;
  await a.send('get nope\r\n'.repeat(n));
  await b.send('mn\r\n');
  const r = await b.readUntil('MN\r\n');
  t.is(r.toString(), 'MN\r\n');
  aBytesAtB = a.pending.length;
  const all = await a.read(n * 5, 10_000);
  t.is(all.length, n * 5);
  t.true(aBytesAtB < n * 5, `b answered before a's batch finished (a had ${aBytesAtB} bytes)`);
  t.true(d.ctx.counters.conn_yields >= n / 2);
});

test('a long multiget is answered in turns of max_output_bytes, whole and in order, while others are served', async (t) => {
  const d = await daemon(t, { maxOutputBytes: 16 * 1024 });
  const c = await telnet(t, d.port);
  const v = 'v'.repeat(1000);
  await c.says(`set k 0 0 ${v.length}\r\n${v}\r\nset j 0 0 1\r\nj\r\n`, 'STORED\r\nSTORED\r\n');
  const a = await RawClient.connect(d.port);
  const b = await RawClient.connect(d.port);
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const n = 3000;
  const yieldsBefore = d.ctx.counters.conn_yields;
  await a.send(`get ${'k j nope '.repeat(n)}\r\n`);
  await b.send('mn\r\n');
  t.is((await b.readUntil('MN\r\n')).toString(), 'MN\r\n');
  const one = `VALUE k 0 ${v.length}\r\n${v}\r\nVALUE j 0 1\r\nj\r\n`;
  const all = await a.read(one.length * n + 5, 20_000);
  t.true(all.equals(Buffer.from(one.repeat(n) + 'END\r\n')), 'every key answered once, in order');
  t.true(d.ctx.counters.conn_yields - yieldsBefore >= 100, 'the line was answered in many turns');
});

test('a short multiget (its keys split as words) is answered in turns too, whole and in order', async (t) => {
  const d = await daemon(t, { maxOutputBytes: 16 * 1024 });
  const c = await telnet(t, d.port);
  const v = 'w'.repeat(5000);
  const keys = Array.from({ length: 20 }, (_, i) => `s${i}`);
  await c.says(keys.map((k) => `set ${k} 0 0 ${v.length}\r\n${v}\r\n`).join(''), 'STORED\r\n'.repeat(keys.length));
  const yieldsBefore = d.ctx.counters.conn_yields;
  // 20 keys, 100 KB of copied values: the batch fills after a few, the rest come next turns
  await c.says(`get ${keys.join(' ')} nope\r\n`, keys.map((k) => `VALUE ${k} 0 ${v.length}\r\n${v}\r\n`).join('') + 'END\r\n');
  t.true(d.ctx.counters.conn_yields - yieldsBefore >= 3, 'the line was answered in several turns');
});

test('backpressure: a client that never reads stops being read; output stays bounded; others are served', async (t) => {
  const maxOutputBytes = 256 * 1024;
  const d = await daemon(t, { maxOutputBytes, reqsPerEvent: 4 });
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(100 * 1024, 0x61);
  await c.says(Buffer.concat([Buffer.from(`set big 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const sink = net.connect(d.port, '127.0.0.1');
  t.teardown(() => sink.destroy());
  await new Promise((r) => sink.once('connect', r));
  sink.pause(); // never reads
  const gets = 1000; // 100 MB of replies if nobody held back
  sink.write('get big\r\n'.repeat(gets));
  await until(() => [...d.connections()].some((x) => x.state === 'conn_mwrite'), 'the server to stop reading');
  const conn = [...d.connections()].find((x) => x.state === 'conn_mwrite');
  const pending = conn?.outgoing ?? 0;
  // at most the bound plus one -R batch of values
  t.true(pending <= maxOutputBytes + 4 * (v.length + 64), `pending ${pending}`);
  await c.says('mn\r\n', 'MN\r\n');
  // reading again drains everything, in order and complete
  const want = gets * (`VALUE big 0 ${v.length}\r\n`.length + v.length + 2 + 5);
  t.is(await drainPaused(sink, want), want);
  // every pin taken for those replies was released once written
  const key = Buffer.from('big');
  await until(() => d.cache.hdr.refcount(d.cache.peek(key, 0, key.length)) === 0, 'pins to be released');
  t.is(d.cache.hdr.refcount(d.cache.peek(key, 0, key.length)), 0);
});

test('replies never read freed memory: a slow reader gets the original bytes of an overwritten, evicted value', async (t) => {
  const d = await daemon(t, { maxbytes: 8 * 1024 * 1024, maxOutputBytes: 64 * 1024, reqsPerEvent: 50 });
  const size = 200 * 1024;
  const orig = Buffer.alloc(size);
  for (let i = 0; i < size; i++) orig[i] = (i * 7) & 0xff;
  const w = await telnet(t, d.port);
  await w.says(Buffer.concat([Buffer.from(`set big 0 0 ${size}\r\n`), orig, Buffer.from('\r\n')]), 'STORED\r\n');
  const reader = net.connect(d.port, '127.0.0.1');
  t.teardown(() => reader.destroy());
  await new Promise((r) => reader.once('connect', r));
  reader.pause();
  const gets = 30;
  reader.write('get big\r\n'.repeat(gets));
  await until(() => [...d.connections()].some((x) => x.outgoing > 0), 'replies queued');
  // overwrite the key, then write enough to evict everything evictable
  const other = Buffer.alloc(size, 0x5a);
  await w.says(Buffer.concat([Buffer.from(`set big 0 0 ${size}\r\n`), other, Buffer.from('\r\n')]), 'STORED\r\n');
  const evictionsBefore = d.cache.counters.evictions;
  // fill bytes differ from both values, so a reply that read reused memory shows
  const fill = Buffer.alloc(size, 0x33);
  for (let i = 0; i < 80; i++) {
    await w.says(Buffer.concat([Buffer.from(`set fill${i} 0 0 ${size}\r\n`), fill, Buffer.from('\r\n')]), 'STORED\r\n');
  }
  t.true(d.cache.counters.evictions > evictionsBefore, 'the cache evicted while the reader waited');
  const chunks: Buffer[] = [];
  const header = Buffer.from(`VALUE big 0 ${size}\r\n`);
  const per = header.length + size + 2 + 5;
  const all = await new Promise<Buffer>((resolve) => {
    reader.on('data', (b: Buffer) => {
      chunks.push(b);
      const got = Buffer.concat(chunks);
      if (got.toString('latin1').split('END\r\n').length - 1 >= gets) resolve(got);
    });
    reader.resume();
  });
  // the gets handled before the overwrite (until the reader's socket filled) must carry the
  // original bytes; the rest ran later and may see the new value or, once evicted, a miss
  let originals = 0;
  let at = 0;
  for (let i = 0; i < gets; i++) {
    if (all.toString('latin1', at, at + 5) === 'END\r\n') {
      t.true(i > 0, 'the first get ran before the overwrite');
      at += 5;
      continue;
    }
    t.true(all.subarray(at, at + header.length).equals(header));
    const value = all.subarray(at + header.length, at + header.length + size);
    if (value.equals(orig)) {
      t.is(originals, i, 'original values come first');
      originals++;
    } else {
      t.true(value.equals(other), `reply ${i} is the original or the new value, never reused memory`);
    }
    t.is(all.toString('latin1', at + header.length + size, at + per), '\r\nEND\r\n');
    at += per;
  }
  t.is(at, all.length);
  t.true(originals > 0, 'replies queued before the overwrite carry the original bytes');
});

test('memccapable -a (libmemcached-tools) passes every ascii test', async (t) => {
  const d = await daemon(t);
  const child = spawn('memccapable', ['-h', '127.0.0.1', '-p', String(d.port), '-a', '-t', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 0, out);
  t.regex(out, /All tests passed/);
  t.notRegex(out, /FAIL|skip/i);
});

test('stats conns names connection states as memcached does', async (t) => {
  const d = await daemon(t);
  const idle = await telnet(t, d.port);
  // left half sent on purpose: the closing probe would be taken as the rest of its value
  const mid = await telnet(t, d.port, undefined, { probe: false });
  await idle.says('mn\r\n', 'MN\r\n');
  await mid.send('set x 0 0 10\r\nabc');
  await until(() => [...d.connections()].some((c) => c.state === 'conn_nread'), 'the half-sent value');
  const me = await telnet(t, d.port);
  await me.send('stats conns\r\n');
  const states = (await me.readUntil('END\r\n')).toString().match(/state \S+/g);
  t.deepEqual(states, ['state conn_listening', 'state conn_new_cmd', 'state conn_nread', 'state conn_parse_cmd']);
});

test('backpressure below the socket\'s 16 KiB high-water mark still resumes when the client reads', async (t) => {
  // a bound under the high-water mark: Node never emits 'drain' for a write that
  // stayed under it, so pausing on the bound alone would stall this client for good
  const d = await daemon(t, { maxOutputBytes: 1024, reqsPerEvent: 1 });
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(8000, 0x63);
  await c.says(Buffer.concat([Buffer.from(`set mid 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const slow = net.connect(d.port, '127.0.0.1');
  t.teardown(() => slow.destroy());
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  const gets = 1500; // 12 MB of replies: more than loopback's socket buffers hold
  slow.write('get mid\r\n'.repeat(gets));
  const held = (): boolean => [...d.connections()].some((x) => x.outgoing > 0);
  await until(held, 'replies to wait in the server\'s socket', 20000);
  const want = gets * (`VALUE mid 0 ${v.length}\r\n`.length + v.length + 2 + 5);
  let got = 0;
  const done = new Promise<void>((resolve) => {
    slow.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= want) resolve();
    });
  });
  slow.resume();
  await until(() => got >= want, `all ${want} bytes`, 20000);
  await done;
  t.is(got, want);
  await c.says('mn\r\n', 'MN\r\n');
});

test('a client that disconnects with large replies unsent leaves no pins behind', async (t) => {
  const d = await daemon(t, { maxOutputBytes: 64 * 1024 });
  const c = await telnet(t, d.port);
  const v = Buffer.alloc(300 * 1024, 0x62);
  await c.says(Buffer.concat([Buffer.from(`set big 0 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]), 'STORED\r\n');
  const key = Buffer.from('big');
  const pins = (): number => d.cache.hdr.refcount(d.cache.peek(key, 0, key.length));
  const gone = net.connect(d.port, '127.0.0.1');
  await new Promise((r) => gone.once('connect', r));
  gone.pause();
  gone.write('get big\r\n'.repeat(20));
  await until(() => pins() > 0, 'a pinned reply');
  gone.destroy();
  await until(() => d.ctx.counters.curr_connections === 1, 'the server to see the close');
  await until(() => pins() === 0, 'pins to be released');
  t.is(pins(), 0);
  await c.says('delete big\r\n', 'DELETED\r\n');
});
