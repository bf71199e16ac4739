// What an idle connection costs a server, in RSS (through /proc).
//
//   node test/bench/idle-conns.mjs N ROUNDS -- SERVER ARGS...
//
// The word PORT in the server's arguments becomes a free loopback port. Each round
// starts the server, opens N connections that each send `get x` and wait for the
// answer (so every connection has been read from and written to once), closes them,
// then measures RSS, opens N more the same way, and measures again: the first crowd
// grows the heap and the allocator to their working size, so the figure is what a
// connection costs on top of that. Prints KB per connection for each round and the
// median.
//
//   node test/bench/idle-conns.mjs 1000 5 -- node bin/slabcache.js -p PORT -U 0 -c 8192
//   node test/bench/idle-conns.mjs 1000 5 -- node test/bench/floor/onread-path.mjs -p PORT
//   node test/bench/idle-conns.mjs 1000 5 -- /usr/bin/memcached -p PORT -U 0 -c 8192
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

const sep = process.argv.indexOf('--');
if (sep < 0 || sep + 1 >= process.argv.length) {
  console.error('usage: idle-conns.mjs N ROUNDS -- SERVER ARGS... (PORT is replaced)');
  process.exit(2);
}
const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const cmd = process.argv.slice(sep + 1);

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

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectOnce(port) {
  for (let i = 0; ; i++) {
    try {
      return await new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (i > 200) throw e;
      await sleep(50);
    }
  }
}

async function crowd(port, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const s = await connectOnce(port);
    s.on('error', () => {});
    out.push(s);
  }
  await Promise.all(out.map((s) => new Promise((r) => {
    s.once('data', r);
    s.write('get x\r\n');
  })));
  return out;
}

/** RSS once it has stopped moving: the server may still be settling after a crowd. */
async function settled(pid) {
  let last = rss(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = rss(pid);
    if (Math.abs(now - last) < 16 * 1024) return now;
    last = now;
  }
  return last;
}

const per = [];
for (let r = 0; r < ROUNDS; r++) {
  const port = await freePort();
  const args = cmd.slice(1).map((a) => (a === 'PORT' ? String(port) : a));
  const child = spawn(cmd[0], args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const first = await crowd(port, N);
    for (const s of first) s.destroy();
    await sleep(500);
    const base = await settled(child.pid);
    const second = await crowd(port, N);
    const after = await settled(child.pid);
    per.push((after - base) / N / 1024);
    console.log(`round ${r + 1}: base ${(base / 1048576).toFixed(1)} MB, +${N} idle: ${((after - base) / N / 1024).toFixed(2)} KB each`);
    for (const s of second) s.destroy();
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}
per.sort((a, b) => a - b);
console.log(`median ${per[per.length >> 1].toFixed(2)} KB per idle connection (${N} connections, ${ROUNDS} rounds): ${cmd.join(' ')}`);
