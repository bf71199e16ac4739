/**
 * What an idle connection keeps on the daemon's heap: the daemon runs in this
 * process, 1,000 clients in a child process (so their sockets are not counted),
 * and heap used is read after a full GC, which unlike RSS does not move with
 * what V8 has yet to collect or give back.
 *
 * Node's own share of an accepted socket (net.Socket, its stream states, the
 * handle and its listeners) is about 0.7 KB; ours (Connection, Output, the
 * protocol object) about 0.4 KB. A buffer, closure or array
 * made per connection before it is needed shows up here. The tests run one at a
 * time: each reads memory of the whole process.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import test from 'ava';
import { daemon } from './server-fixture.js';

const N = 1000;
const KB = 1024;
/** heap retained per idle connection, Node's socket included */
const BOUND = 2 * KB;

const gc = (globalThis as { gc?: () => void }).gc;

/** The clients: `open` connects N and has each answered once; `close` drops them. */
const CLIENTS = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
let open = [];
const connect = () => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
require('node:readline').createInterface({ input: process.stdin }).on('line', async (cmd) => {
  if (cmd === 'open') {
    for (let i = 0; i < n; i++) open.push(await connect());
    await Promise.all(open.map((s) => new Promise((r) => { s.once('data', r); s.write('get x\\r\\n'); })));
  } else {
    for (const s of open) s.destroy();
    open = [];
  }
  process.stdout.write(cmd + ' done\\n');
});
`;

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.serial('an idle connection keeps under 2 KB of heap, Node\'s socket included', async (t) => {
  t.truthy(gc, 'run with --expose-gc (package.json ava.nodeArguments)');
  const d = await daemon(t, { maxconns: 4 * N });
  const child = spawn(process.execPath, ['-e', CLIENTS, String(d.ports[0]), String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const lines = createInterface({ input: child.stdout });
  const ask = (cmd: string): Promise<void> => new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the clients exited (${code}) during ${cmd}`)));
    lines.once('line', (l) => (l === `${cmd} done` ? resolve() : reject(new Error(`clients said ${l}`))));
    child.stdin.write(`${cmd}\n`);
  });
  const count = (): number => [...d.connections()].length;
  const idle = (): boolean => d.ctx.outputMemory!().held === 0;

  // a first crowd brings code and caches to their working state, then leaves
  await ask('open');
  await ask('close');
  await until('the first crowd to leave', () => count() === 0);
  const base = heapAfterGc();
  await ask('open');
  await until(`${N} connections`, () => count() === N);
  await until('every reply chunk back in the pool', idle);
  const per = (heapAfterGc() - base) / N;
  t.log(`${per.toFixed(0)} bytes of heap per idle connection`);
  t.true(per > 0, 'the connections are on this heap');
  t.true(per <= BOUND, `${per.toFixed(0)} bytes of heap per idle connection`);
  await ask('close');
  await until('the second crowd to leave', () => count() === 0);
});

test.serial('a request that came in two reads leaves its connection no tail buffer once answered', async (t) => {
  t.truthy(gc, 'run with --expose-gc (package.json ava.nodeArguments)');
  const n = 400;
  const d = await daemon(t, { maxconns: 4 * n });
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(d.ports[0], '127.0.0.1');
    t.teardown(() => s.destroy());
    await new Promise((r) => s.once('connect', r));
    socks.push(s);
  }
  await until(`${n} connections`, () => [...d.connections()].length === n);
  const bufs = (): number => {
    for (let i = 0; i < 4; i++) gc!();
    return process.memoryUsage().arrayBuffers;
  };
  const base = bufs();
  // the first half of each request is read and kept (a tail of the connection's own)
  for (const s of socks) s.write('get some');
  await until('every first half to be kept', () => [...d.connections()].every((c) => c.unhandledBytes > 0));
  await Promise.all(socks.map((s) => new Promise((r) => {
    s.once('data', r);
    s.write('key\r\n');
  })));
  const per = (bufs() - base) / n;
  t.log(`${per.toFixed(0)} bytes of buffers per connection after its split request`);
  // a tail buffer is 16 KiB: kept per connection, each would still hold one; the
  // thread's pool of emptied ones keeps at most 16 for all
  t.true(per < 4 * KB, `${per.toFixed(0)} bytes of buffers per idle connection`);
});
