/**
 * What clients can make the daemon hold, measured on the daemon's own process
 * (VmRSS from /proc/PID/status) with real sockets: clients that never read, uploads
 * that stall halfway, and idle connections. Margins are generous: RSS moves with
 * the JavaScript heap too, and nothing here depends on timing. Every wait polls a
 * condition the daemon reports (`stats conns`, `stats memory`) and fails saying
 * what it waited for.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startSlabcache } from './helpers/memcached.js';
import { stats, telnet, type Telnet } from './helpers/telnet.js';

const KB = 1024;
const MB = 1024 * KB;

/** Resident set of process pid, in bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * KB;
}

/** Polls `what` (asking the daemon) until it holds; fails saying what it waited for. */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Connections `stats conns` shows in state conn_mwrite (we stopped reading: output waits). */
async function stalledWriters(c: Telnet): Promise<number> {
  let n = 0;
  for (const [k, v] of await stats(c, 'conns')) if (k.endsWith(':state') && v === 'conn_mwrite') n++;
  return n;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** n clients that pipeline `get k` as fast as the daemon reads and never read a reply. */
async function nonReaders(t: { teardown(f: () => void): void }, port: number, n: number): Promise<net.Socket[]> {
  const req = Buffer.from('get k\r\n'.repeat(5000));
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = await connect(port);
    t.teardown(() => s.destroy());
    s.on('error', () => {});
    s.pause();
    const pump = (): void => {
      while (!s.destroyed && s.write(req));
    };
    s.on('drain', pump);
    pump();
    out.push(s);
  }
  return out;
}

/** A warmed daemon with a 1 KB value under `k`, and a control client. */
async function warmed(t: Parameters<typeof telnet>[0], args: string[]): Promise<{ pid: number; port: number; c: Telnet }> {
  const sc = await startSlabcache(t, ['-m', '64', ...args]);
  const c = await telnet(t, sc.port);
  await c.says(`set k 0 0 1024\r\n${'v'.repeat(1024)}\r\n`, 'STORED\r\n');
  // one round of the same traffic first, so code, heap and buffer pool are warm: enough
  // clients that each worker thread (each with its own heap and pool) likely gets some
  const warm = await nonReaders(t, sc.port, 8);
  await until('8 warm-up clients to stall', async () => (await stalledWriters(c)) >= 8);
  for (const s of warm) s.destroy();
  await until('warm-up clients to leave', async () => (await stalledWriters(c)) === 0);
  return { pid: sc.pid, port: sc.port, c };
}

test('20 clients that never read hold at most 1 MB each, and their reply buffers are released when they close', async (t) => {
  const { pid, port, c } = await warmed(t, []);
  const base = rss(pid);
  const crowd = await nonReaders(t, port, 20);
  await until('20 clients the daemon stopped reading from', async () => (await stalledWriters(c)) >= 20);
  const held = Number((await stats(c, 'memory')).get('response_bytes'));
  const loaded = rss(pid);
  t.log(`RSS ${(base / MB).toFixed(1)} MB -> ${(loaded / MB).toFixed(1)} MB with 20 stalled readers; reply buffers ${held} bytes`);
  t.true(loaded - base <= 20 * MB, `RSS grew ${((loaded - base) / MB).toFixed(1)} MB for 20 clients`);
  // the default bound is 64 KiB of replies, plus the chunk being filled
  t.true(held > 0 && held <= 20 * 256 * KB, `reply buffers held: ${held}`);
  for (const s of crowd) s.destroy();
  await until('the reply buffers of the closed clients to be released',
    async () => (await stats(c, 'memory')).get('response_bytes') === '0');
  t.is(await stalledWriters(c), 0);
});

test('RSS falls back once stalled readers close (their reply memory is freed, not left to a GC)', async (t) => {
  // a 1 MiB bound per client, so what 20 of them hold stands out from the heap's own moves
  // -t 1: free reply buffers are pooled per thread (output-pool.ts), so at -t N each of N
  // pools keeps its share, and what comes back depends on how the kernel spread the clients
  const { pid, port, c } = await warmed(t, ['-t', '1', '-o', 'max_output_bytes=1m']);
  const base = rss(pid);
  const crowd = await nonReaders(t, port, 20);
  await until('20 clients the daemon stopped reading from', async () => (await stalledWriters(c)) >= 20);
  const loaded = rss(pid);
  for (const s of crowd) s.destroy();
  await until('the reply buffers of the closed clients to be released',
    async () => (await stats(c, 'memory')).get('response_bytes') === '0');
  const after = rss(pid);
  t.log(`RSS ${(base / MB).toFixed(1)} -> ${(loaded / MB).toFixed(1)} -> ${(after / MB).toFixed(1)} MB`);
  t.true(loaded - base >= 10 * MB, `20 stalled readers with 1 MiB each grew RSS by ${((loaded - base) / MB).toFixed(1)} MB`);
  t.true(after - base <= (loaded - base) / 2, 'at least half of what they held is back with the system');
});

test('100 uploads stalled halfway through a 1 MB set do not make another client\'s 1 MB set fail, and all complete', async (t) => {
  const sc = await startSlabcache(t, ['-m', '64']);
  const c = await telnet(t, sc.port);
  const n = 1_000_000;
  const half = Buffer.alloc(n / 2, 0x61);
  const uploads: net.Socket[] = [];
  const replies: string[] = [];
  for (let i = 0; i < 100; i++) {
    const s = await connect(sc.port);
    t.teardown(() => s.destroy());
    replies.push('');
    s.on('data', (b: Buffer) => { replies[i] += b.toString('latin1'); });
    s.write(`set up${i} 0 0 ${n}\r\n`);
    s.write(half);
    uploads.push(s);
  }
  // every half has arrived once the daemon holds memory for 100 halves
  await until('100 half uploads to be in the daemon', async () =>
    Number((await stats(c, 'memory')).get('upload_bytes')) >= 100 * half.length);
  const held = Number((await stats(c, 'memory')).get('upload_bytes'));
  t.log(`upload_bytes ${held} for 100 stalled half uploads`);
  // memory for what was sent, not for the whole values: 100 MB would not fit in -m 64
  t.true(held <= 100 * (n / 2 + 64 * KB), `stalled uploads hold ${held} bytes`);
  await c.says(`set other 0 0 ${n}\r\n${'b'.repeat(n)}\r\n`, 'STORED\r\n', 10_000);
  // one after another, as memcached's greedy reads finish them: a hundred finishing
  // in lockstep would each need their second chunk while all hold their first
  for (let i = 0; i < uploads.length; i++) {
    uploads[i].write(half);
    uploads[i].write('\r\n');
    await until(`upload ${i} to be answered`, async () => replies[i].length >= 8);
  }
  t.deepEqual(new Set(replies), new Set(['STORED\r\n']));
  const st = await stats(c);
  t.true(Number(st.get('evictions')) > 0, 'room was made by evicting, as memcached does');
  t.is((await stats(c, 'memory')).get('upload_bytes'), '0');
});

// What an idle connection keeps, after a full GC (test/idle-heap.test.ts): about 1.2 KB
// of heap, of which Node's socket, stream states and handle wrapper are 0.7 KB, plus
// Node's native handle (TCPWrap and libuv's uv_tcp_t, about 0.4 KB). What RSS shows on
// top of that depends on where V8's collector stands: a crowd that left is garbage
// until the next mark-compact, and whether that comes before, during or after the next
// crowd moved one such figure from 0.2 to 4.7 KB on Node 20 on a loaded machine. So the
// crowd comes and goes three times, and the median of the three is held to the bound:
// still the test's own measure, taken where one stray collection cannot decide it.
// Node 20 gives 1.5-2.7 KB per connection this way (median about 2.2), Node 24 about 1.2
// (docs/performance.md); 2 KB is not yet certain on Node 20.
test('1,000 idle connections cost under 3 KB each', async (t) => {
  // -t 1: each thread's heap grows to its own working size with the connections the kernel
  // gives it, which differ from crowd to crowd, so one warm-up crowd cannot size N heaps
  const sc = await startSlabcache(t, ['-t', '1', '-m', '64', '-c', '4096']);
  const c = await telnet(t, sc.port);
  const crowd = async (n: number): Promise<net.Socket[]> => {
    const out: net.Socket[] = [];
    for (let i = 0; i < n; i++) {
      const s = await connect(sc.port);
      t.teardown(() => s.destroy());
      out.push(s);
    }
    // each says one thing and gets its answer, then stays idle
    await Promise.all(out.map((s) => new Promise((r) => {
      s.once('data', r);
      s.write('mn\r\n');
    })));
    return out;
  };
  const leave = async (socks: net.Socket[]): Promise<void> => {
    for (const s of socks) s.destroy();
    await until('the crowd to leave', async () => Number((await stats(c)).get('curr_connections')) <= 3);
  };
  // a first crowd grows the heap to its working size; it leaves before we measure
  await leave(await crowd(1000));
  const per: number[] = [];
  for (let round = 0; round < 3; round++) {
    const base = rss(sc.pid);
    const socks = await crowd(1000);
    await until('1,000 connections', async () => Number((await stats(c)).get('curr_connections')) >= 1001);
    per.push((rss(sc.pid) - base) / 1000);
    t.is((await stats(c, 'memory')).get('response_bytes'), '0', 'idle connections hold no reply buffer');
    await leave(socks);
  }
  const median = [...per].sort((a, b) => a - b)[1];
  t.log(`${(median / KB).toFixed(2)} KB of RSS per idle connection (median of ${per.map((p) => (p / KB).toFixed(2)).join(', ')})`);
  t.true(median <= 3 * KB, `${(median / KB).toFixed(2)} KB per idle connection`);
});
