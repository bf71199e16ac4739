/**
 * The listener modules on their own, with an echo connection handler: unix
 * socket permissions and stale/live socket files, TLS verify modes, IPv6
 * loopback. The daemon-level tests (ops-daemon.test.ts) run the real binary.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { defaultSettings, type Settings } from '../src/config.js';
import { listenUnix } from '../src/server/listen-unix.js';
import { listenOn, listenTls } from '../src/server/listen-tls.js';
import { drainAndClose } from '../src/server/process.js';
import { haveOpenssl, makePki } from './ops-certs.js';

/** listeners hand over accepted sockets paused (the daemon adopts their handles), so resume */
const echo = (s: net.Socket): void => {
  s.on('data', (d) => s.write(d));
  s.on('error', () => {});
  s.resume();
};

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-ops-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function closeServer(s: net.Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** Sends `msg` over an open stream and resolves with the first bytes back. */
function roundTrip(s: net.Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (d) => resolve(d.toString()));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before a reply')));
    s.write(msg);
  });
}

function connectUnix(p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: p }, () => resolve(s));
    s.once('error', reject);
  });
}

test('unix socket: -a mask becomes the file mode, and it serves', async (t) => {
  const dir = tmpDir(t);
  for (const mask of [0o700, 0o660, 0o777]) {
    const p = path.join(dir, `mc-${mask.toString(8)}.sock`);
    const server = await listenUnix({ path: p, mask, backlog: 16, onConnection: echo });
    const st = fs.statSync(p);
    t.true(st.isSocket());
    t.is((st.mode & 0o777).toString(8), mask.toString(8));
    const c = await connectUnix(p);
    t.is(await roundTrip(c, 'version\r\n'), 'version\r\n');
    c.destroy();
    await closeServer(server);
  }
});

test('unix socket: a stale file is replaced, a live one is not stolen', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'stale.sock');
  // a socket file nobody listens on, as a crashed (SIGKILLed) daemon leaves it
  const crashed = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' });
  t.is(crashed.signal, 'SIGKILL');
  t.true(fs.lstatSync(p).isSocket(), 'stale socket file left behind');
  const first = await listenUnix({ path: p, mask: 0o700, backlog: 16, onConnection: echo });
  const c = await connectUnix(p);
  t.is(await roundTrip(c, 'x'), 'x');

  await t.throwsAsync(listenUnix({ path: p, mask: 0o700, backlog: 16, onConnection: echo }), {
    message: `failed to listen on UNIX socket "${p}": another process is serving it`,
  });
  t.is(await roundTrip(c, 'still mine'), 'still mine', 'the live daemon keeps its socket');
  c.destroy();
  await closeServer(first);

  const plain = path.join(dir, 'not-a-socket');
  fs.writeFileSync(plain, 'data');
  await t.throwsAsync(listenUnix({ path: plain, mask: 0o700, backlog: 16, onConnection: echo }), {
    message: /file exists and is not a socket/,
  });
  t.is(fs.readFileSync(plain, 'utf8'), 'data', 'a regular file is never removed');
});

test('IPv6 loopback [::1] is there and served', async (t) => {
  const addrs = execFileSync('ip', ['-6', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  // no skip: a machine without ::1 fails here, saying so
  t.regex(addrs, /inet6 ::1\/128/, 'this machine has no IPv6 loopback (ip -6 addr shows no ::1)');
  const server = net.createServer(echo);
  await listenOn(server, '::1', 0, 16);
  const port = (server.address() as net.AddressInfo).port;
  const c = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '::1', port }, () => resolve(s));
    s.once('error', reject);
  });
  t.is(c.remoteAddress, '::1');
  t.is(await roundTrip(c, 'v6'), 'v6');
  c.destroy();
  await closeServer(server);
});

function tlsSettings(pki: ReturnType<typeof makePki>, mode: number): Settings {
  return {
    ...defaultSettings(), ssl: true, ssl_chain_cert: pki.serverCert, ssl_key: pki.serverKey,
    ssl_ca_cert: pki.caCert, ssl_verify_mode: mode,
  };
}

/** A TLS client: resolves with the echo of 'ping', or the error that ended it. */
function tlsPing(port: number, pki: ReturnType<typeof makePki>, cert?: 'client' | 'rogue'): Promise<string> {
  return new Promise((resolve) => {
    const opts: tls.ConnectionOptions = { host: '127.0.0.1', port, ca: fs.readFileSync(pki.caCert), servername: 'localhost' };
    if (cert === 'client') Object.assign(opts, { cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey) });
    if (cert === 'rogue') Object.assign(opts, { cert: fs.readFileSync(pki.rogueCert), key: fs.readFileSync(pki.rogueKey) });
    const s = tls.connect(opts, () => s.write('ping'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(`error: ${e.code ?? e.message}`));
    s.once('close', () => resolve('closed'));
  });
}

test('TLS: verify modes 0..3 as memcached maps them to OpenSSL', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const expect: Record<number, [string, string, string]> = {
    // [no client cert, cert from our CA, cert from another CA]
    0: ['ping', 'ping', 'ping'],
    1: ['ping', 'ping', 'refused'],
    2: ['refused', 'ping', 'refused'],
    3: ['refused', 'ping', 'refused'],
  };
  for (const mode of [0, 1, 2, 3]) {
    const server = await listenTls({ host: '127.0.0.1', port: 0, backlog: 16, settings: tlsSettings(pki, mode), onConnection: echo });
    const port = (server.address() as net.AddressInfo).port;
    const got = [await tlsPing(port, pki), await tlsPing(port, pki, 'client'), await tlsPing(port, pki, 'rogue')];
    t.deepEqual(got.map((g) => (g === 'ping' ? g : 'refused')), expect[mode], `ssl_verify_mode=${mode}: ${got.join(', ')}`);
    await closeServer(server);
  }
});

test('TLS: a plain-text client gets no reply and is dropped', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const server = await listenTls({ host: '127.0.0.1', port: 0, backlog: 16, settings: tlsSettings(pki, 0), onConnection: echo });
  const port = (server.address() as net.AddressInfo).port;
  const got = await new Promise<string>((resolve) => {
    let data = '';
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('version\r\n'));
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(data));
  });
  t.false(got.includes('version'), 'nothing echoed in the clear');
  await closeServer(server);
});

test('TLS: a missing certificate file fails at startup with its name', async (t) => {
  const s = { ...defaultSettings(), ssl: true, ssl_chain_cert: '/nonexistent/cert.pem', ssl_key: '/nonexistent/key.pem' };
  await t.throwsAsync(listenTls({ host: '127.0.0.1', port: 0, backlog: 16, settings: s, onConnection: echo }), {
    message: /Error loading the certificate "\/nonexistent\/cert.pem"/,
  });
});

test('drainAndClose: queued output reaches the client, then everything closes', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
  const sockets = new Set<net.Socket>();
  let accepted!: () => void;
  const ready = new Promise<void>((r) => (accepted = r));
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.write(big); // far more than the socket buffers: most of it waits in Node
    accepted();
  });
  await listenOn(server, '127.0.0.1', 0, 16);
  const port = (server.address() as net.AddressInfo).port;
  const c = net.connect({ host: '127.0.0.1', port });
  c.pause(); // a slow reader: nothing is read until the server starts stopping
  await ready;
  const received = new Promise<number>((resolve) => {
    let n = 0;
    c.on('data', (d) => (n += d.length));
    c.on('end', () => resolve(n));
  });
  const stopped = drainAndClose([server], sockets, 10_000);
  c.resume();
  t.is(await received, big.length, 'the whole reply arrived before the close');
  await stopped;
  t.false(server.listening);
  c.destroy();
});
