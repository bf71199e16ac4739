/**
 * The watch stream's bounds: a watcher that stops reading costs at most its buffer
 * (watcher_logbuf_size), later gets `skipped=N`, and the log_* stats account for
 * every line. A real daemon process, so its RSS is the kernel's figure.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { startSlabcache } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';
import { waitUntil } from './ops-proc.js';

const WAIT_MS = 10_000;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

async function stats(c: RawClient): Promise<Map<string, string>> {
  await c.send('stats\r\n');
  const text = (await c.readUntil('END\r\n', WAIT_MS)).toString('latin1');
  return new Map([...text.matchAll(/^STAT (\S+) (.*)\r$/gm)].map((m) => [m[1], m[2]]));
}

/** One multiget of `n` keys that all miss: n item_get lines of about 90 bytes each. */
function multiget(round: number, n: number): string {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(`miss-${round}-${i}`);
  return `get ${keys.join(' ')}\r\n`;
}

test('a watcher that never reads leaves RSS bounded, then gets skipped=N, and the stats add up', async (t) => {
  const sc = await startSlabcache(t, ['-U', '0']);
  const w = await RawClient.connect(sc.port, sc.host);
  t.teardown(() => w.close());
  await w.send('watch fetchers\r\n');
  await w.readUntil('OK\r\n', WAIT_MS);
  // from here the watcher reads nothing: the kernel's buffers fill, then ours
  w.socket.pause();

  const c = await RawClient.connect(sc.port, sc.host);
  t.teardown(() => c.close());
  // warm up (JIT, buffers) before the baseline
  for (let r = 0; r < 200; r++) {
    await c.send(multiget(r, 100));
    await c.readUntil('END\r\n', WAIT_MS);
  }
  const before = rssBytes(sc.pid);
  // 2,100,000 lines of ~90 bytes: ~190 MB if anything kept them. One multiget per
  // read, so each read's lines fit the staging buffer and reach the watcher's
  const ROUNDS = 7_000;
  const PER = 300;
  for (let r = 0; r < ROUNDS; r++) {
    await c.send(multiget(1000 + r, PER));
    await c.readUntil('END\r\n', WAIT_MS);
  }
  const after = rssBytes(sc.pid);
  const grown = after - before;
  t.log(`RSS ${(before / 1048576).toFixed(1)} MB -> ${(after / 1048576).toFixed(1)} MB`);
  t.true(grown < 64 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(1)} MB (from ${(before / 1048576).toFixed(1)} MB)`);

  const mid = await stats(c);
  t.is(mid.get('log_watchers'), '1');
  t.log(`lines sent ${mid.get('log_watcher_sent')}, skipped ${mid.get('log_watcher_skipped')}, dropped ${mid.get('log_worker_dropped')}`);
  t.true(Number(mid.get('log_watcher_skipped')) > 0, `log_watcher_skipped ${mid.get('log_watcher_skipped')}`);

  // the watcher reads again: the first line that fits after the gap says how many it
  // missed. Markers are asked for until the stats say one went into its buffer.
  w.socket.resume();
  let sent = Number(mid.get('log_watcher_sent'));
  let marker = -1;
  for (let i = 0; i < 20_000 && marker < 0; i++) {
    await c.send(`get marker${i}\r\n`);
    await c.readUntil('END\r\n', WAIT_MS);
    const now = Number((await stats(c)).get('log_watcher_sent'));
    if (now > sent) marker = i;
    sent = now;
  }
  t.true(marker >= 0, 'a marker line went to the watcher once it read again');
  const seen = (await w.readUntil(`key=marker${marker} `, WAIT_MS)).toString('latin1').slice(-4096);
  const m = /skipped=(\d+)\n/.exec(seen);
  t.truthy(m, 'a skipped=N line once the watcher read again');
  const end = await stats(c);
  // every staged line was either sent to the one watcher or skipped by it
  t.is(Number(end.get('log_worker_written')), Number(end.get('log_watcher_sent')) + Number(end.get('log_watcher_skipped')));
  t.true(Number(m?.[1]) <= Number(end.get('log_watcher_skipped')));
});

test('log_watchers counts watchers as they come and go; log_* stay 0 with nobody watching', async (t) => {
  const sc = await startSlabcache(t, ['-U', '0']);
  const c = await RawClient.connect(sc.port, sc.host);
  t.teardown(() => c.close());
  await c.send('set a 0 0 1\r\nx\r\nget a\r\n');
  await c.readUntil('END\r\n', WAIT_MS);
  const quiet = await stats(c);
  for (const k of ['log_worker_dropped', 'log_worker_written', 'log_watcher_skipped', 'log_watcher_sent', 'log_watchers']) {
    t.is(quiet.get(k), '0', k);
  }
  const w1 = await RawClient.connect(sc.port, sc.host);
  const w2 = await RawClient.connect(sc.port, sc.host);
  await w1.send('watch mutations\r\n');
  await w1.readUntil('OK\r\n', WAIT_MS);
  await w2.send('watch fetchers\r\n');
  await w2.readUntil('OK\r\n', WAIT_MS);
  t.is((await stats(c)).get('log_watchers'), '2');
  await c.send('get a\r\n');
  await c.readUntil('END\r\n', WAIT_MS);
  await w2.readUntil('key=a status=found', WAIT_MS);
  const s = await stats(c);
  // one item_get, staged once, sent to the one watcher that wants fetchers
  t.is(s.get('log_worker_written'), '1');
  t.is(s.get('log_watcher_sent'), '1');
  await w1.close();
  await w2.close();
  await waitUntil('log_watchers back to 0', async () => (await stats(c)).get('log_watchers') === '0', WAIT_MS);
});

test('watch answers WATCHER_TOO_MANY past memcached\'s 20 watchers', async (t) => {
  const sc = await startSlabcache(t, ['-U', '0']);
  const ws: RawClient[] = [];
  t.teardown(() => Promise.all(ws.map((w) => w.close())));
  for (let i = 0; i < 20; i++) {
    const w = await RawClient.connect(sc.port, sc.host);
    ws.push(w);
    await w.send('watch\r\n');
    await w.readUntil('OK\r\n', WAIT_MS);
  }
  const extra = await RawClient.connect(sc.port, sc.host);
  ws.push(extra);
  await extra.send('watch\r\nversion\r\n');
  t.is((await extra.readUntil('\r\n', WAIT_MS)).toString(), 'WATCHER_TOO_MANY log watcher limit reached\r\n');
  t.regex((await extra.readUntil('\r\n', WAIT_MS)).toString(), /^VERSION /);
});
