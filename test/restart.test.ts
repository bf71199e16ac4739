/**
 * Warm restart (-e FILE): a graceful stop (SIGUSR1, and SIGTERM here) saves the
 * cache, the next start on the same file resumes it; anything doubtful about the
 * files gives a clean start, never wrong data.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { IS_ROOT, tmpDir, waitUntil } from './ops-proc.js';
import { BulkClient, startOn, stopWith } from './restart-helpers.js';

const N = 100_000;
/** Every CHAINED_EVERY-th value is 600 KB: chained across slab_chunk_max chunks. */
const CHAINED_EVERY = 5_000;
const BATCH = 5_000;
const unixNow = (): number => Math.floor(Date.now() / 1000);

function valueOf(i: number, round = 0): Buffer {
  const len = i % CHAINED_EVERY === 0 ? 600_000 : 1 + ((i * 7919) % 1000);
  return Buffer.alloc(len, `v${i}.${round}:`);
}
const flagsOf = (i: number): number => Math.imul(i, 2654435761) >>> 0;

/** Key kinds by i % 5: exptime 0, relative 1000 s, absolute, negative, relative 3 s (dies while down). */
const NEVER = 0, RELATIVE = 1, ABSOLUTE = 2, SHORT = 4; // kind 3: a negative exptime, dead on arrival
const kind = (i: number): number => i % 5;

interface Seen {
  value: Buffer;
  flags: number;
  cas: number;
  ttl: number;
  /** wall seconds bracketing the reply, for TTL checks */
  from: number;
  to: number;
}

/** Sets keys `key:i` with noreply, a meta no-op closing each batch. */
async function setAll(c: BulkClient, ids: number[], exptime: (i: number) => number, round = 0): Promise<void> {
  for (let b = 0; b < ids.length; b += BATCH) {
    const parts: Buffer[] = [];
    for (const i of ids.slice(b, b + BATCH)) {
      const v = valueOf(i, round);
      parts.push(Buffer.from(`set key:${i} ${flagsOf(i)} ${exptime(i)} ${v.length} noreply\r\n`), v, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('mn\r\n'));
    c.send(Buffer.concat(parts));
    const [r] = await c.replies(1);
    if (r.line !== 'MN') throw new Error(`a set in batch ${b / BATCH} failed: ${r.line}`);
  }
}

/** mg every key: value, flags, CAS, TTL; null where it misses. */
async function readAll(c: BulkClient, keys: string[]): Promise<Map<string, Seen | null>> {
  const out = new Map<string, Seen | null>();
  for (let b = 0; b < keys.length; b += BATCH) {
    const some = keys.slice(b, b + BATCH);
    const from = unixNow();
    c.send(some.map((k) => `mg ${k} v f c t\r\n`).join(''));
    const replies = await c.replies(some.length);
    const to = unixNow();
    replies.forEach((r, j) => {
      if (r.line === 'EN') {
        out.set(some[j], null);
        return;
      }
      const m = /^VA \d+ f(\d+) c(\d+) t(-?\d+)$/.exec(r.line);
      if (m === null || r.value === null) throw new Error(`mg ${some[j]}: ${r.line}`);
      out.set(some[j], { value: r.value, flags: Number(m[1]), cas: Number(m[2]), ttl: Number(m[3]), from, to });
    });
  }
  return out;
}

/** Every live key comes back byte for byte, same flags and CAS, same wall expiry within a second. */
function sameItems(t: ExecutionContext, before: Map<string, Seen | null>, after: Map<string, Seen | null>): number {
  let bad = 0;
  let live = 0;
  for (const [k, b] of before) {
    const a = after.get(k) ?? null;
    if (b === null) {
      if (a !== null && bad++ < 5) t.fail(`${k} was gone and came back`);
      continue;
    }
    live++;
    if (a === null) {
      if (bad++ < 5) t.fail(`${k} lost`);
      continue;
    }
    if (!a.value.equals(b.value) || a.flags !== b.flags || a.cas !== b.cas) {
      if (bad++ < 5) t.fail(`${k}: value/flags/cas differ: ${a.flags}/${a.cas} vs ${b.flags}/${b.cas}`);
      continue;
    }
    if ((a.ttl === -1) !== (b.ttl === -1)) {
      if (bad++ < 5) t.fail(`${k}: ttl ${a.ttl} vs ${b.ttl}`);
      continue;
    }
    // the wall time each reply says the item dies at: the same second, give or take the clock's tick
    if (b.ttl !== -1 && (a.ttl + a.from - 1 > b.ttl + b.to + 1 || b.ttl + b.from - 1 > a.ttl + a.to + 1)) {
      if (bad++ < 5) t.fail(`${k}: expires at ${a.ttl + a.from}..${a.ttl + a.to}, was ${b.ttl + b.from}..${b.ttl + b.to}`);
    }
  }
  t.is(bad, 0, 'items differing after the restart');
  return live;
}

/** stats items adds up to curr_items; stats slabs keeps its pages; a new CAS is above every old one. */
async function consistent(t: ExecutionContext, c: BulkClient, live: number, pagesBefore: Map<string, string>,
  seen: Map<string, Seen | null>): Promise<void> {
  const general = await c.stats('stats');
  t.is(Number(general.get('curr_items')), live, 'curr_items counts exactly the live items');
  const items = await c.stats('stats items');
  let sum = 0;
  for (const [k, v] of items) if (/^items:\d+:number$/.test(k)) sum += Number(v);
  t.is(sum, live, 'stats items numbers add up to curr_items');
  const slabs = await c.stats('stats slabs');
  for (const [k, v] of pagesBefore) if (/:total_pages$/.test(k)) t.is(slabs.get(k), v, `${k} kept`);
  t.is(slabs.get('active_slabs'), pagesBefore.get('active_slabs'));
  let maxCas = 0;
  for (const s of seen.values()) if (s !== null) maxCas = Math.max(maxCas, s.cas);
  c.send('ms fresh 1 T0\r\nx\r\nmg fresh c\r\n');
  const [stored, got] = await c.replies(2);
  t.is(stored.line, 'HD');
  const cas = Number(/c(\d+)/.exec(got.line)?.[1]);
  t.true(cas > maxCas, `new CAS ${cas} above every restored one (${maxCas})`);
}

test('100,000 items of every size and expiry survive a SIGUSR1 restart and then a SIGTERM one', async (t) => {
  t.timeout(180_000);
  const dir = tmpDir(t);
  const file = path.join(dir, 'cache');
  // automove would hand the pages the expired items leave behind back to the pool
  // after the restart: kept off so that the page counts can be compared
  const args = ['-m', '256', '-v', '-o', 'slab_automove=0'];
  let server: TestServer = await startOn(t, file, args);
  t.regex(server.output(), /\[restart\] no metadata save file, starting with a clean cache/);
  let c = await BulkClient.connect(server);

  // flushed: stored, then an immediate flush_all; the flush must hold across the restart
  const flushedKeys = Array.from({ length: 1000 }, (_, i) => `old:${i}`);
  c.send(`${flushedKeys.map((k) => `set ${k} 1 0 3 noreply\r\nold\r\n`).join('')}flush_all\r\n`);
  t.is((await c.replies(1))[0].line, 'OK');

  const ids = Array.from({ length: N }, (_, i) => i);
  const absolute = unixNow() + 2000;
  const exptime = (i: number): number => [0, 1000, absolute, -1, 3][kind(i)];
  await setAll(c, ids.filter((i) => kind(i) !== SHORT), exptime);
  // the short ones last, so their 3 s run from here
  await setAll(c, ids.filter((i) => kind(i) === SHORT), exptime);
  const shortDeadline = unixNow() + 3 + 1;
  const keys = [...ids.map((i) => `key:${i}`), ...flushedKeys];

  const before = await readAll(c, keys);
  for (const i of [0, 1, 2, CHAINED_EVERY]) t.true(before.get(`key:${i}`)?.value.equals(valueOf(i)), `key:${i} stored`);
  t.is(before.get('key:3'), null, 'a negative exptime is dead at once');
  t.is(before.get('old:0'), null, 'flushed');
  // the short ones may still be alive here; after the restart they must not be
  for (const i of ids) if (kind(i) === SHORT) before.set(`key:${i}`, null);
  const pages = await c.stats('stats slabs');
  t.is((await c.stats('stats')).get('evictions'), '0');
  c.close();

  await stopWith(t, server, 'SIGUSR1');
  t.true(fs.existsSync(`${file}.meta`), 'SIGUSR1 wrote the metadata file');
  await waitUntil('the 3 s items to expire while the daemon is down', () => unixNow() > shortDeadline, 10_000);

  server = await startOn(t, file, args);
  t.regex(server.output(), /\[restart\] restored \d+ items/);
  t.false(fs.existsSync(`${file}.meta`), 'the metadata is used once, as memcached does');
  c = await BulkClient.connect(server);
  const after = await readAll(c, keys);
  const live = sameItems(t, before, after);
  t.is(live, (N * 3) / 5);
  await consistent(t, c, live, pages, after);

  // change things, then restart through SIGTERM: what a systemd stop or restart sends
  const deleted = ids.filter((i) => kind(i) === NEVER && i % 7 === 0);
  const rewritten = ids.filter((i) => (kind(i) === RELATIVE || kind(i) === ABSOLUTE) && i % 11 === 0);
  c.send(`${deleted.map((i) => `delete key:${i} noreply\r\n`).join('')}mn\r\n`);
  t.is((await c.replies(1))[0].line, 'MN');
  await setAll(c, rewritten, exptime, 1);
  c.send('delete fresh\r\n');
  t.is((await c.replies(1))[0].line, 'DELETED');
  const before2 = await readAll(c, keys);
  t.true(before2.get(`key:${rewritten[0]}`)?.value.equals(valueOf(rewritten[0], 1)));
  t.is(before2.get(`key:${deleted[0]}`), null);
  const pages2 = await c.stats('stats slabs');
  c.close();
  await stopWith(t, server, 'SIGTERM');

  server = await startOn(t, file, args);
  t.regex(server.output(), /\[restart\] restored \d+ items/);
  c = await BulkClient.connect(server);
  const after2 = await readAll(c, keys);
  const live2 = sameItems(t, before2, after2);
  t.is(live2, (N * 3) / 5 - deleted.length);
  await consistent(t, c, live2, pages2, after2);
  c.close();
  // SIGINT (Ctrl-C, plain `shutdown`) stops without saving, as memcached's does
  await stopWith(t, server, 'SIGINT');
  t.false(fs.existsSync(`${file}.meta`), 'no snapshot after SIGINT');
});

test('a pending flush_all <delay> still fires after the restart', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'cache');
  let server = await startOn(t, file);
  let c = await BulkClient.connect(server);
  c.send('set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nflush_all 15\r\n');
  t.deepEqual((await c.replies(3)).map((r) => r.line), ['STORED', 'STORED', 'OK']);
  // 15 s: room for a stop and a start on a loaded machine before the flush is due
  const flushAt = unixNow() + 15;
  c.close();
  await stopWith(t, server, 'SIGUSR1');
  server = await startOn(t, file);
  c = await BulkClient.connect(server);
  c.send('mg a v\r\nmg b v\r\n');
  const early = await c.replies(2);
  t.true(unixNow() < flushAt - 1, 'restarted well before the flush time');
  t.deepEqual(early.map((r) => r.value?.toString()), ['1', '2'], 'still there before the delay ends');
  await waitUntil('the delayed flush to take effect', async () => {
    c.send('mg a v\r\n');
    return (await c.replies(1))[0].line === 'EN';
  }, 25_000);
  // flush_all <delay> ends at (time + delay - 1) on a clock that lags the wall by up to a
  // second, plus however late its 1 s timer fired on a loaded machine: one more second here
  t.true(unixNow() >= flushAt - 3, `not before its time (${flushAt - unixNow()} s early)`);
  c.send('mg b v\r\n');
  t.is((await c.replies(1))[0].line, 'EN');
  c.close();
});

test('a damaged, foreign or missing snapshot gives a clean start with one clear line, never wrong data', async (t) => {
  t.timeout(120_000);
  const dir = tmpDir(t);
  const golden = path.join(dir, 'golden');
  const server = await startOn(t, golden, ['-m', '64']);
  const c = await BulkClient.connect(server);
  const big = Buffer.alloc(600_000, 'chained');
  c.send(Buffer.concat([
    Buffer.from(Array.from({ length: 200 }, (_, i) => `set k${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`).join('')),
    Buffer.from(`set big 9 0 ${big.length}\r\n`), big, Buffer.from('\r\n'),
  ]));
  t.true((await c.replies(201)).every((r) => r.line === 'STORED'));
  c.close();
  await stopWith(t, server, 'SIGUSR1');

  /** A copy of the snapshot, changed by `damage`, in its own directory. */
  const copy = (name: string, damage: (file: string) => void): string => {
    fs.mkdirSync(path.join(dir, name));
    const file = path.join(dir, name, 'cache');
    fs.copyFileSync(golden, file);
    fs.copyFileSync(`${golden}.meta`, `${file}.meta`);
    damage(file);
    return file;
  };
  const flip = (f: string, at: number): void => {
    const fd = fs.openSync(f, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x20;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
  };
  const size = fs.statSync(golden).size;
  const mismatch = (key: string, old: string): RegExp => new RegExp(
    `\\[restart\\] restart incompatible due to setting for \\[${key}\\] \\[old value: ${old.replace('.', '\\.')}\\]\\n`
    + '.*\\[restart\\] missing some metadata lines\\n.*\\[restart\\] failed to validate metadata, starting with a clean cache');
  const cases: { name: string; damage: (f: string) => void; args?: string[]; says: RegExp }[] = [
    { name: 'truncated', damage: (f) => fs.truncateSync(f, Math.floor(size / 2)), says: /\[restart\] snapshot .* not used: it is truncated \(\d+ of \d+ bytes\); starting with a clean cache/ },
    { name: 'flipped-page-byte', damage: (f) => flip(f, size - 300_000), says: /\[restart\] snapshot .* not used: its checksum does not match .*; starting with a clean cache/ },
    { name: 'flipped-table-byte', damage: (f) => flip(f, 40), says: /\[restart\] snapshot .* not used: .*; starting with a clean cache/ },
    { name: 'flipped-meta-byte', damage: (f) => flip(`${f}.meta`, 20), says: /\[restart\] corrupt metadata file .*, starting with a clean cache/ },
    { name: 'other-m', damage: () => {}, args: ['-m', '65'], says: mismatch('maxbytes', String(64 * 1048576)) },
    { name: 'other-I', damage: () => {}, args: ['-m', '64', '-I', '2m'], says: mismatch('item_size_max', '1048576') },
    { name: 'other-f', damage: () => {}, args: ['-m', '64', '-f', '1.25'], says: mismatch('slab_config', '1.15') },
    { name: 'other-n', damage: () => {}, args: ['-m', '64', '-n', '64'], says: mismatch('chunk_size', '48') },
    { name: 'no-meta', damage: (f) => fs.rmSync(`${f}.meta`), says: /\[restart\] no metadata save file, starting with a clean cache/ },
    { name: 'no-data', damage: (f) => fs.rmSync(f), says: /\[restart\] snapshot .* not used: it is missing; starting with a clean cache/ },
  ];
  const check = async (file: string, args: string[]): Promise<{ output: string; got: string[]; items: string }> => {
    const s = await startOn(t, file, args);
    const cl = await BulkClient.connect(s);
    cl.send('mg k7 v f\r\nmg big s f\r\n');
    const got = (await cl.replies(2)).map((r) => `${r.line}${r.value ? ` ${r.value.toString()}` : ''}`);
    const items = (await cl.stats('stats')).get('curr_items') ?? '';
    cl.close();
    await stopWith(t, s, 'SIGINT');
    return { output: s.output(), got, items };
  };
  // the untouched copy loads: the cases below fail for their own reason alone
  const good = await check(copy('good', () => {}), ['-m', '64']);
  t.deepEqual(good.got, ['VA 1 f7 7', 'HD s600000 f9']);
  t.is(good.items, '201');
  await Promise.all(cases.map(async (k) => {
    const file = copy(k.name, k.damage);
    const r = await check(file, k.args ?? ['-m', '64']);
    t.regex(r.output, k.says, k.name);
    t.deepEqual(r.got, ['EN', 'EN'], `${k.name}: nothing served from the snapshot`);
    t.is(r.items, '0', k.name);
    t.false(fs.existsSync(`${file}.meta`), `${k.name}: the metadata is not kept for a later start`);
  }));
});

test('-e in a directory that does not exist stops the start with a clear line', async (t) => {
  const dir = tmpDir(t);
  const err = await startOn(t, path.join(dir, 'nope', 'cache')).then(() => '', (e: Error) => e.message);
  t.regex(err, /-e .*nope\/cache: cannot write snapshots in .*nope \(ENOENT\)/);
});

test('a start that cannot bind keeps the snapshot for the next one', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'cache');
  let server = await startOn(t, file);
  let c = await BulkClient.connect(server);
  c.send('set kept 3 0 4\r\nkept\r\n');
  t.is((await c.replies(1))[0].line, 'STORED');
  c.close();
  await stopWith(t, server, 'SIGUSR1');

  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  const err = await startOn(t, file, ['-p', String(port)]).then(() => '', (e: Error) => e.message);
  t.regex(err, /address already in use|EADDRINUSE/i);
  t.true(fs.existsSync(`${file}.meta`) && fs.existsSync(file), 'both files still there');

  server = await startOn(t, file);
  c = await BulkClient.connect(server);
  c.send('mg kept v f\r\n');
  const [r] = await c.replies(1);
  t.is(`${r.line} ${r.value?.toString()}`, 'VA 4 f3 kept');
  c.close();
});

test('memcached and slabcache say the same [restart] lines for a missing and a mismatched snapshot', async (t) => {
  const dir = tmpDir(t);
  const restartLines = (out: string): string[] => out.split('\n').map((l) => /\[restart\].*/.exec(l)?.[0]).filter((l): l is string => l !== undefined && !/restored|saved/.test(l));
  const said: Record<string, string[][]> = {};
  for (const side of ['memcached', 'slabcache'] as const) {
    const file = path.join(dir, `${side}.cache`);
    const start = (m: string): Promise<TestServer> => side === 'memcached'
      ? startMemcached(t, ['-U', '0', '-m', m, '-e', file])
      : startOn(t, file, ['-m', m]);
    const first = await start('64'); // memcached's -e preallocates a page per class
    await stopWith(t, first, 'SIGUSR1');
    const second = await start('65');
    await stopWith(t, second, 'SIGINT');
    said[side] = [restartLines(first.output()), restartLines(second.output())];
  }
  t.deepEqual(said.slabcache, said.memcached);
  t.deepEqual(said.memcached[0], ['[restart] no metadata save file, starting with a clean cache']);
  t.is(said.memcached[1].length, 3);
});

test('a save that fails says so and the daemon still exits 0', async (t) => {
  const dir = tmpDir(t);
  const sub = path.join(dir, 'state');
  fs.mkdirSync(sub);
  const server = await startOn(t, path.join(sub, 'cache'));
  fs.rmSync(sub, { recursive: true });
  await stopWith(t, server, 'SIGTERM');
  t.regex(server.output(), /error: \[restart\] failed to save metadata: ENOENT/);
});

test('-e with -u: a directory the user cannot write is named at start (as root; -u is ignored otherwise)', async (t) => {
  const dir = tmpDir(t); // 0755, ours
  const server = await startSlabcache(t, ['-U', '0', '-u', 'nobody', '-e', path.join(dir, 'cache')]);
  await stopWith(t, server, 'SIGINT');
  const warning = /warning: -e .*cache: .* is not writable by nobody, who saves the snapshot at stop; it will not be saved/;
  if (IS_ROOT) t.regex(server.output(), warning);
  else t.notRegex(server.output(), warning);
});

test('an upload cut by the stop gives its chunks back before the save: the restart holds only the stored items', async (t) => {
  t.timeout(120_000);
  const file = path.join(tmpDir(t), 'cache');
  const server = await startOn(t, file);
  const c = await BulkClient.connect(server);
  const big = Buffer.alloc(900_000, 'chained');
  c.send(Buffer.concat(Array.from({ length: 20 }, (_, i) => Buffer.concat([
    Buffer.from(`set big${i} 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n'),
  ]))));
  t.true((await c.replies(20)).every((r) => r.line === 'STORED'));
  const usedChunks = async (client: BulkClient): Promise<number> => {
    let sum = 0;
    for (const [k, v] of await client.stats('stats slabs')) if (k.endsWith(':used_chunks')) sum += Number(v);
    return sum;
  };
  const stored = await usedChunks(c);
  // a second client sends half a chained value, and is still sending at the stop
  const cut = net.connect(server.port, server.host);
  t.teardown(() => cut.destroy());
  cut.on('error', () => {});
  cut.write(Buffer.concat([Buffer.from(`set half 0 0 ${big.length}\r\n`), big.subarray(0, 400_000)]));
  await waitUntil('the half-sent value to hold chunks', async () => (await usedChunks(c)) > stored);
  c.close();
  await stopWith(t, server, 'SIGTERM');

  const again = await startOn(t, file);
  const d = await BulkClient.connect(again);
  t.is((await d.stats('stats')).get('curr_items'), '20');
  t.is(await usedChunks(d), stored, 'used_chunks after the restart: the stored items\' alone');
  d.close();
  await stopWith(t, again, 'SIGINT');
});

test('the temporaries of a save that was killed part way are removed once the daemon serves', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'cache');
  fs.writeFileSync(`${file}.tmp`, Buffer.alloc(4096, 1));
  fs.writeFileSync(`${file}.meta.tmp`, 'Tmain\n');
  const server = await startOn(t, file);
  const c = await BulkClient.connect(server);
  c.send('mn\r\n'); // answered: the daemon serves
  t.is((await c.replies(1))[0].line, 'MN');
  c.close();
  t.false(fs.existsSync(`${file}.tmp`), 'the data temporary is gone');
  t.false(fs.existsSync(`${file}.meta.tmp`), 'the meta temporary is gone');
  await stopWith(t, server, 'SIGINT');
});

test('requests still unread when the stop begins are not run: the save holds what was answered', async (t) => {
  t.timeout(120_000);
  const file = path.join(tmpDir(t), 'cache');
  const server = await startOn(t, file);
  const c = await BulkClient.connect(server);
  const big = Buffer.alloc(900_000, 'reply');
  c.send(Buffer.concat(Array.from({ length: 24 }, (_, i) => Buffer.concat([
    Buffer.from(`set big${i} 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n'),
  ]))));
  t.true((await c.replies(24)).every((r) => r.line === 'STORED'));
  // a reader that takes nothing: its gets fill the socket, the daemon stops reading it,
  // and a set sent then waits unread in the kernel
  const reader = net.connect({ port: server.port, host: server.host });
  t.teardown(() => reader.destroy());
  reader.on('error', () => {});
  reader.pause();
  await new Promise<void>((resolve) => reader.once('connect', () => resolve()));
  reader.write(Array.from({ length: 24 }, (_, i) => `get big${i}\r\n`).join(''));
  await waitUntil('the reader\'s connection to wait on its replies', async () => {
    const conns = await c.stats('stats conns');
    return [...conns.values()].includes('conn_mwrite');
  });
  reader.write('set late 0 0 1\r\nz\r\n');
  c.close();
  server.child.kill('SIGTERM');
  // now take every reply: the daemon may write what it had, but runs nothing more
  reader.resume();
  await new Promise<void>((resolve) => reader.once('close', () => resolve()));
  await server.done;
  t.deepEqual(server.exited(), { code: 0, signal: null });

  const again = await startOn(t, file);
  const d = await BulkClient.connect(again);
  d.send('mg late v\r\nmg big23 s\r\n');
  t.deepEqual((await d.replies(2)).map((r) => r.line), ['EN', `HD s${big.length}`]);
  d.close();
  await stopWith(t, again, 'SIGINT');
});
