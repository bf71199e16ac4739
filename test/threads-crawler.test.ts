/**
 * -t 4: the crawler's one slot is shared by every thread. A metadump runs on the
 * worker that serves its connection, crawls on the main thread; while one runs,
 * `lru_crawler metadump` and `lru_crawler crawl` from any other worker get BUSY and
 * every worker's `stats` says lru_crawler_running 1, as memcached's one crawler
 * thread does.
 */
import test from 'ava';
import net from 'node:net';
import { startThreaded } from './helpers/threaded.js';
import { ask } from './ops-proc.js';

const BUSY = 'BUSY currently processing crawler request\r\n';
/** More dump than loopback's socket buffers and our output bound hold, so an unread dump stays running. */
const ITEMS = 300_000;
const BATCH = 10_000;

async function rawConnect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

async function crawlerRunning(s: net.Socket): Promise<string> {
  const r = await ask(s, 'stats\r\n', 'END\r\n');
  return /STAT lru_crawler_running (\d+)\r\n/.exec(r)?.[1] ?? `no lru_crawler_running in ${JSON.stringify(r.slice(0, 80))}`;
}

test('a metadump on one worker makes the crawler BUSY and running for every other worker', async (t) => {
  // no automatic crawls: only the dump below holds the crawler
  const s = await startThreaded(t, ['-m', '64', '-o', 'no_lru_maintainer']);
  for (let i = 0; i < ITEMS; i += BATCH) {
    let req = '';
    for (let j = i; j < i + BATCH; j++) req += `set key${j} 0 0 10\r\n0123456789\r\n`;
    await s.control.batch(req, BATCH, 60_000);
  }
  const conns = await s.pinned(t, 1, () => rawConnect(s.server.port), (c) => {
    c.destroy();
  });
  const dumper = conns[0];
  const others = conns.filter((c) => c.worker !== dumper.worker);
  t.is(others.length, 3);

  // the dump starts; its client reads one chunk and then nothing, so it stays running
  const first = new Promise<void>((resolve) => dumper.conn.once('data', () => {
    dumper.conn.pause();
    resolve();
  }));
  dumper.conn.write('lru_crawler metadump all\r\n');
  await first;

  for (const o of others) {
    t.is(await crawlerRunning(o.conn), '1', `stats on worker ${o.worker} while worker ${dumper.worker} dumps`);
    t.is(await ask(o.conn, 'lru_crawler metadump all\r\n', '\r\n'), BUSY, `metadump on worker ${o.worker}`);
    t.is(await ask(o.conn, 'lru_crawler crawl all\r\n', '\r\n'), BUSY, `crawl from worker ${o.worker}`);
  }

  // the dump ends: the slot is free for every thread again
  let got = 0;
  let tail = '';
  const ended = new Promise<void>((resolve) => {
    dumper.conn.on('data', (d: Buffer) => {
      got += d.length;
      tail = (tail + d.toString('latin1')).slice(-16);
      if (tail.endsWith('END\r\n')) resolve();
    });
  });
  dumper.conn.resume();
  await ended;
  t.true(got > 0);
  const o = others[0];
  t.is(await crawlerRunning(o.conn), '0', 'stats after the dump ended');
  const dump = await ask(o.conn, 'lru_crawler metadump 1\r\n', /(END|BUSY[^\r]*)\r\n$/, 60_000);
  t.true(dump.endsWith('END\r\n'), `a second dump from worker ${o.worker} ran: ${JSON.stringify(dump.slice(-60))}`);
});
