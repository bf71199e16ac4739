/**
 * What an idle connection keeps on the daemon's heap: the daemon runs in this
 * process, 1,000 clients in a child process (so their sockets are not counted),
 * and heap used is read after a full GC, which unlike RSS does not move with
 * what V8 has yet to collect or give back.
 *
 * Node's own share of an accepted socket (net.Socket, its stream states, the
 * handle and its listeners) is about 1.0 KB; ours (Connection, Output, the
 * protocol object) about 0.5 KB. A buffer, closure or array
 * made per connection before it is needed shows up here.
 */
import { spawn } from 'node:child_process';
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

test('an idle connection keeps under 2 KB of heap, Node\'s socket included', async (t) => {
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
