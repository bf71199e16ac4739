/**
 * The daemon as a process: -d with -P, -u, root without -u, SIGTERM while a
 * large reply is in flight, SIGHUP/SIGUSR1, and `shutdown` with and without -A.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, SLABCACHE_BIN, startSlabcache } from './helpers/memcached.js';
import { AS_ROOT_ARGS, ask, canConnect, IS_ROOT, pidAlive, runProc, tmpDir, uidOf, waitUntil } from './ops-proc.js';

const run = promisify(execFile);

test('-d -P: the parent exits 0 once the child listens; the pid file names the child and goes at exit', async (t) => {
  const dir = tmpDir(t);
  const pidFile = path.join(dir, 'slabcache.pid');
  const port = await freePort();
  let daemonPid = 0;
  t.teardown(() => {
    if (daemonPid > 0 && pidAlive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  });
  const parent = await run(process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-d', '-P', pidFile, '-p', String(port), '-l', '127.0.0.1'], { timeout: 20_000 });
  t.is(parent.stderr, '', 'the parent says nothing when all is well');
  // exit 0 came after the child listens: it must answer right now
  t.true(await canConnect({ host: '127.0.0.1', port }), 'listening when the parent returned');
  daemonPid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  t.true(daemonPid > 0 && pidAlive(daemonPid));
  t.regex(fs.readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8'), /slabcache/);
  // setsid(): the daemon leads its own session, no controlling terminal of ours
  const sid = fs.readFileSync(`/proc/${daemonPid}/stat`, 'utf8').split(') ')[1].split(' ')[3];
  t.is(Number(sid), daemonPid);
  t.is(await ask({ host: '127.0.0.1', port }, 'set d 0 0 1\r\n1\r\nget d\r\n', 'END\r\n'), 'STORED\r\nVALUE d 0 1\r\n1\r\nEND\r\n');
  process.kill(daemonPid, 'SIGTERM');
  await waitUntil('the daemon to exit', () => !pidAlive(daemonPid));
  t.false(fs.existsSync(pidFile), 'pid file removed at exit');
});

test('-d: a daemon that cannot start makes the parent fail with its reason', async (t) => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  const err = await run(process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-d', '-p', String(port), '-l', '127.0.0.1'], { timeout: 20_000 })
    .then(() => null, (e: { code: number; stderr: string }) => e);
  t.truthy(err, 'the parent must not exit 0');
  t.not(err?.code, 0);
  t.regex(err?.stderr ?? '', /address already in use|EADDRINUSE/i);
});

test('root: -u nobody drops privileges after binding; no -u is refused with memcached message', async (t) => {
  const args = IS_ROOT ? ['-u', 'nobody'] : [];
  const sc = await startSlabcache(t, args);
  const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  // an answer first: the kernel accepts as soon as the socket listens, which is before the
  // daemon drops privileges; once it has served a request, it has dropped them
  t.is(await ask(sc, 'version\r\n', '\r\n').then((r) => r.slice(0, 8)), 'VERSION ');
  // as root: the daemon must now be nobody; as anyone else -u is ignored (memcached too)
  t.is(uidOf(sc.pid), IS_ROOT ? nobody : process.getuid!());
  if (IS_ROOT) {
    const refused = await run(process.execPath, [SLABCACHE_BIN, '-p', String(await freePort())]).then(() => null, (e: { code: number; stderr: string }) => e);
    t.is(refused?.code, 64);
    t.is(refused?.stderr, "can't run as root without the -u switch\n");
  } else {
    t.false(IS_ROOT, 'the no -u rule only applies to root');
  }
});

test('SIGTERM during a large transfer: the reader gets the whole reply, then exit 0', async (t) => {
  const sc = await startSlabcache(t, ['-m', '128', '-I', '4m']);
  const value = Buffer.alloc(4 * 1024 * 1024 - 512, 0x5a);
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
  for (const k of keys) {
    await ask(sc, Buffer.concat([Buffer.from(`set ${k} 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]), 'STORED\r\n');
  }
  const expected = keys.map((k) => `VALUE ${k} 0 ${value.length}\r\n`.length + value.length + 2).reduce((a, b) => a + b) + 5;
  const c = net.connect(sc);
  await new Promise((r) => c.once('connect', r));
  let received = 0;
  let tail = Buffer.alloc(0);
  const ended = new Promise<void>((resolve) => c.once('close', () => resolve()));
  const first = new Promise<void>((resolve) => c.once('data', () => resolve()));
  c.on('data', (d: Buffer) => {
    received += d.length;
    tail = Buffer.concat([tail, d]).subarray(-16);
    c.pause(); // a slow reader: take a chunk, then let the server wait
    setTimeout(() => c.resume(), 1);
  });
  c.write(`get ${keys.join(' ')}\r\n`);
  await first; // the server has run the get: 24 MB are queued behind a slow reader
  sc.child.kill('SIGTERM');
  await ended;
  t.is(received, expected, 'every byte of the reply arrived');
  t.true(tail.toString('latin1').endsWith('\r\nEND\r\n'));
  await sc.done;
  t.deepEqual(sc.exited(), { code: 0, signal: null });
});

test('SIGHUP is survived as in memcached; SIGUSR1 stops gracefully with exit 0', async (t) => {
  const sc = await startSlabcache(t, []);
  sc.child.kill('SIGHUP');
  // a round trip after the signal: had SIGHUP killed us, this would fail
  t.regex(await ask(sc, 'version\r\n', '\r\n'), /^VERSION /);
  t.is(sc.exited(), null);
  sc.child.kill('SIGUSR1');
  await sc.done;
  t.deepEqual(sc.exited(), { code: 0, signal: null });
});

test('shutdown: refused without -A, exits 0 with -A (plain and graceful)', async (t) => {
  const plain = await startSlabcache(t, []);
  t.is(await ask(plain, 'shutdown\r\n', '\r\n'), 'ERROR: shutdown not enabled\r\n');
  t.regex(await ask(plain, 'version\r\n', '\r\n'), /^VERSION /, 'still serving');
  for (const cmd of ['shutdown\r\n', 'shutdown graceful\r\n']) {
    const sc = await startSlabcache(t, ['-A']);
    const c = net.connect(sc);
    c.on('error', () => {});
    c.write(cmd);
    await sc.done;
    t.deepEqual(sc.exited(), { code: 0, signal: null }, cmd.trim());
    c.destroy();
  }
});

test('-r, -k, -N and the no-effect -o keys start the daemon with one warning line each; -t has an effect and none', async (t) => {
  const port = await freePort();
  const p = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-r', '-k', '-t', '2', '-N', '1',
    '-o', 'drop_privileges,sock_cookie_id=7', '-p', String(port), '-l', '127.0.0.1']);
  await waitUntil('the daemon to listen', async () => {
    if (!p.running()) throw new Error(`exited: ${p.output()}`);
    return canConnect({ host: '127.0.0.1', port });
  });
  const lines = p.output().split('\n');
  for (const flag of ['-r', '-k', '-N', '-o drop_privileges', '-o sock_cookie_id']) {
    t.is(lines.filter((l) => l.startsWith(`warning: ${flag} `)).length, 1, `one line for ${flag}: ${p.output()}`);
  }
  t.is(lines.filter((l) => l.startsWith('warning: -t ')).length, 0, `no line for -t: ${p.output()}`);
  p.child.kill('SIGTERM');
  t.is((await p.exited).code, 0);
});

test('logging: silent by default; -vv logs each command and reply; -v logs handled signals', async (t) => {
  const quiet = await startSlabcache(t, []);
  t.is(await ask(quiet, 'get nothing\r\n', 'END\r\n'), 'END\r\n');
  const chatty = await startSlabcache(t, ['-vv']);
  t.is(await ask(chatty, 'set lk 0 0 1\r\nv\r\nget lk\r\n', 'END\r\n'), 'STORED\r\nVALUE lk 0 1\r\nv\r\nEND\r\n');
  await waitUntil('the -vv trace', () => /debug: >\d+ END/.test(chatty.output()));
  t.regex(chatty.output(), /debug: <\d+ new auto-negotiating client connection/);
  t.regex(chatty.output(), /debug: <\d+ set lk 0 0 1\n/);
  t.regex(chatty.output(), /debug: >\d+ STORED\n/);
  t.regex(chatty.output(), /debug: <\d+ get lk\n/);
  chatty.child.kill('SIGTERM');
  await chatty.done;
  t.regex(chatty.output(), /info: Signal handled: Terminated\./);
  quiet.child.kill('SIGTERM');
  await quiet.done;
  t.is(quiet.output(), '', 'a default daemon says nothing, even when stopped');
});
