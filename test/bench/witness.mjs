// How long one light client waits while heavy clients load the server.
//
//   node test/bench/witness.mjs [REQUESTS] -- SERVER ARGS...
//
// PORT in the server's arguments becomes a free loopback port. Heavy clients run in a
// child process (so their own event loop never delays the witness), each on its own
// connection, until REQUESTS requests (default 1,000,000) have been answered:
//   - 4 pipeliners: 400 `get` of 1 KB values in one write, then 200 `set` of 1 KB
//   - 2 multigets: `get` of 100 keys holding 10 KB values, 8 lines per write
//   - 2 large: `set` of a 1 MB value, then `get` of it, 4 such pairs per write
//   - 1 filler: `set` of new keys, 100 B to 500 KB, 50 per write (fills -m, evicts)
// Meanwhile the witness, on its own connection in this process, does `set` of a
// 100-byte value then `get` of it, one at a time, 5 ms apart, and times each reply.
// Prints the witness's p50/p99/max and the heavy clients' request rate.
//
//   node test/bench/witness.mjs -- node bin/slabcache.js -u nobody -p PORT -U 0 -m 64
//   node test/bench/witness.mjs -- /usr/bin/memcached -u nobody -p PORT -U 0 -m 64
import { spawn, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Counts occurrences of `word` across reads, carrying a partial match over. */
function counter(sock, word) {
  const w = Buffer.from(word);
  let carry = Buffer.alloc(0);
  let waiting = null;
  let seen = 0;
  sock.on('data', (d) => {
    const b = carry.length > 0 ? Buffer.concat([carry, d]) : d;
    let i = 0;
    for (;;) {
      const j = b.indexOf(w, i);
      if (j < 0) break;
      seen++;
      i = j + w.length;
    }
    carry = Buffer.from(b.subarray(Math.max(i, b.length - w.length + 1)));
    if (waiting !== null && seen >= waiting.n) {
      const r = waiting.resolve;
      waiting = null;
      r();
    }
  });
  return (n) => new Promise((resolve) => {
    if (seen >= n) resolve();
    else waiting = { n, resolve };
  }).then(() => { seen -= n; });
}

async function heavy(port, total) {
  let done = 0;
  const KB = 'x'.repeat(1024);
  const TENKB = 'y'.repeat(10 * 1024);
  const MB = 'z'.repeat(1024 * 1024);
  const setup = await connect(port);
  const ok = counter(setup, 'STORED\r\n');
  let s = '';
  for (let i = 0; i < 400; i++) s += `set p${i} 0 0 1024\r\n${KB}\r\n`;
  for (let i = 0; i < 100; i++) s += `set m${i} 0 0 ${TENKB.length}\r\n${TENKB}\r\n`;
  setup.write(s);
  await ok(500);
  setup.destroy();

  const pipeliner = async () => {
    const c = await connect(port);
    const end = counter(c, 'END\r\n');
    const stored = counter(c, 'STORED\r\n');
    let gets = '';
    for (let i = 0; i < 400; i++) gets += `get p${i}\r\n`;
    let sets = '';
    for (let i = 0; i < 200; i++) sets += `set p${i} 0 0 1024\r\n${KB}\r\n`;
    while (done < total) {
      c.write(gets);
      await end(400);
      c.write(sets);
      await stored(200);
      done += 600;
    }
    c.destroy();
  };
  const multiget = async () => {
    const c = await connect(port);
    const end = counter(c, 'END\r\n');
    let line = 'get';
    for (let i = 0; i < 100; i++) line += ` m${i}`;
    line += '\r\n';
    const batch = line.repeat(8);
    while (done < total) {
      c.write(batch);
      await end(8);
      done += 800;
    }
    c.destroy();
  };
  const large = async (id) => {
    const c = await connect(port);
    const end = counter(c, 'END\r\n');
    let batch = '';
    for (let i = 0; i < 4; i++) batch += `set big${id}_${i} 0 0 ${MB.length} noreply\r\n${MB}\r\nget big${id}_${i}\r\n`;
    while (done < total) {
      c.write(batch);
      await end(4);
      done += 8;
    }
    c.destroy();
  };
  // new keys of sizes from 100 B to 500 KB: fills -m and keeps eviction and the
  // slab page mover busy
  const SIZES = [100, 1000, 10_000, 100_000, 500_000];
  const filler = async (id) => {
    const c = await connect(port);
    const stored = counter(c, '\r\n');
    let n = 0;
    while (done < total) {
      let batch = '';
      for (let i = 0; i < 50; i++, n++) {
        const size = SIZES[n % SIZES.length];
        batch += `set f${id}_${n} 0 0 ${size}\r\n${'f'.repeat(size)}\r\n`;
      }
      c.write(batch);
      await stored(50);
      done += 50;
    }
    c.destroy();
  };
  const t0 = process.hrtime.bigint();
  await Promise.all([pipeliner(), pipeliner(), pipeliner(), pipeliner(), multiget(), multiget(), large(0), large(1), filler(0)]);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.send({ done, secs });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const sep = process.argv.indexOf('--');
  if (sep < 0 || sep + 1 >= process.argv.length) {
    console.error('usage: witness.mjs [REQUESTS] -- SERVER ARGS... (PORT is replaced)');
    process.exit(2);
  }
  const total = sep > 2 ? Number(process.argv[2]) : 1_000_000;
  const cmd = process.argv.slice(sep + 1);
  const port = await freePort();
  const server = spawn(cmd[0], cmd.slice(1).map((a) => (a === 'PORT' ? String(port) : a)), { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    let w;
    for (let i = 0; ; i++) {
      try {
        w = await connect(port);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await sleep(50);
      }
    }
    const load = fork(fileURLToPath(import.meta.url), ['--heavy', String(port), String(total)]);
    const finished = new Promise((resolve) => load.once('message', resolve));
    let stop = false;
    void finished.then(() => { stop = true; });
    const lat = [];
    let reply = null;
    let got = '';
    w.on('data', (d) => {
      got += d.toString('latin1');
      if (reply !== null && got.endsWith(reply.until)) {
        const r = reply.resolve;
        reply = null;
        got = '';
        r();
      }
    });
    const ask = (req, until) => {
      const t = process.hrtime.bigint();
      return new Promise((resolve) => {
        reply = { until, resolve };
        w.write(req);
      }).then(() => lat.push(Number(process.hrtime.bigint() - t) / 1e6));
    };
    const value = 'w'.repeat(100);
    while (!stop) {
      await ask(`set witness 0 0 100\r\n${value}\r\n`, 'STORED\r\n');
      await ask('get witness\r\n', 'END\r\n');
      await sleep(5);
    }
    const { done, secs } = await finished;
    w.destroy();
    lat.sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
    console.log(`witness: ${lat.length} requests, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1].toFixed(2)} ms; ` +
      `heavy clients: ${done} requests in ${secs.toFixed(1)} s (${Math.round(done / secs)}/s): ${cmd.join(' ')}`);
  } finally {
    server.kill(process.env.WITNESS_STOP ?? 'SIGKILL');
  }
}

if (process.argv[2] === '--heavy') {
  heavy(Number(process.argv[3]), Number(process.argv[4]));
} else {
  await main();
}
