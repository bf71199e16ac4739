/**
 * The worker-thread plumbing of -t 4, on the real daemon over real sockets:
 * connections spread over the workers, -c counted across them, stats summed,
 * `stats conns` listing every thread's connections, SIGTERM draining every
 * thread, unix and TLS listeners served by the workers, and `watch` seeing another
 * thread's events.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { SLABCACHE_BIN, startSlabcache } from './helpers/memcached.js';
import { haveOpenssl, makePki } from './ops-certs.js';
import { AS_ROOT_ARGS, ask, canConnect, runProc, tmpDir, waitUntil, type Where } from './ops-proc.js';

/** A connected client that has been served once (so a worker holds it). */
async function served(t: ExecutionContext, where: Where, secure?: tls.ConnectionOptions): Promise<net.Socket> {
  const s = secure
    ? tls.connect({ ...secure, ...(where as { host: string; port: number }) })
    : net.connect(where as net.NetConnectOpts);
  t.teardown(() => s.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once(secure ? 'secureConnect' : 'connect', () => resolve());
    s.once('error', reject);
  });
  t.is(await ask(s, 'mn\r\n', 'MN\r\n'), 'MN\r\n');
  return s;
}

/** `stats <what>` as a map. */
async function stats(s: net.Socket, what = ''): Promise<Map<string, string>> {
  const r = await ask(s, `stats${what ? ` ${what}` : ''}\r\n`, 'END\r\n');
  const m = new Map<string, string>();
  for (const line of r.split('\r\n')) {
    const p = /^STAT (\S+) (.*)$/.exec(line);
    if (p !== null) m.set(p[1], p[2]);
  }
  return m;
}

/**
 * Waits until the connections before the asker's are counted and gone: the listener,
 * and the start-up probe's connection, which some worker may take after the asker's.
 */
async function settled(asker: net.Socket): Promise<void> {
  await waitUntil('the start-up probe to be accepted and gone', async () => {
    const st = await stats(asker);
    return st.get('total_connections') === '3' && st.get('curr_connections') === '1';
  });
}

/** Open connections per worker, from `stats threads`. */
async function perWorker(s: net.Socket): Promise<number[]> {
  const st = await stats(s, 'threads');
  const out: number[] = [];
  for (let i = 0; st.has(`${i}:curr_connections`); i++) out.push(Number(st.get(`${i}:curr_connections`)));
  return out;
}

/**
 * Opens clients (in concurrent batches, as the kernel spreads those best) until at
 * least two workers hold some; fails after `max` clients.
 */
async function spread(t: ExecutionContext, where: Where, asker: net.Socket, max = 256,
  secure?: tls.ConnectionOptions): Promise<net.Socket[]> {
  const clients: net.Socket[] = [];
  while (clients.length < max) {
    clients.push(...await Promise.all(Array.from({ length: 8 }, () => served(t, where, secure))));
    if ((await perWorker(asker)).filter((n) => n > 0).length >= 2) return clients;
  }
  throw new Error(`${max} clients all landed on one worker: ${JSON.stringify(await perWorker(asker))}`);
}

test('-t 4: connections land on several workers, and stats threads lists four', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const clients = await spread(t, where, asker);
  const st = await stats(asker, 'threads');
  const per = await perWorker(asker);
  t.is(per.length, 4);
  t.is(per.reduce((a, b) => a + b, 0), clients.length + 1);
  t.true(Number(st.get('lock_acquisitions')) > 0, 'the engine lock was taken');
  t.true(st.has('lock_contended'));
  t.is((await stats(asker)).get('threads'), '4');
});

test('-t 1: one worker (the main thread) in stats threads', async (t) => {
  const sc = await startSlabcache(t, ['-t', '1']);
  const asker = await served(t, { host: '127.0.0.1', port: sc.port });
  const st = await stats(asker, 'threads');
  t.deepEqual([...st.keys()], ['0:curr_connections', '0:total_connections', 'lock_acquisitions', 'lock_contended']);
  t.is(st.get('0:curr_connections'), '1');
});

test('-t 4 -c 24: the limit counts connections on every worker', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4', '-c', '24']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  await settled(asker);
  const crowd = await spread(t, where, asker, 16);
  while (crowd.length < 23) crowd.push(await served(t, where));
  t.is((await stats(asker)).get('curr_connections'), '24');
  // the 25th, whichever worker takes it, is over the limit
  t.is(await ask(where, '', /connections\r\n$/), 'ERROR Too many open connections\r\n');
  t.is((await stats(asker)).get('rejected_connections'), '1');
  crowd.pop()!.destroy();
  await waitUntil('the freed slot', async () => (await stats(asker)).get('curr_connections') === '23');
  await served(t, where);
});

test('-t 4: stats sums every worker\'s counters', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  await settled(asker);
  const base = await stats(asker);
  let sent = Number(base.get('bytes_read'));
  const clients = await spread(t, where, asker);
  // each client said mn once; spread() asked stats threads after each batch of 8
  sent += clients.length * 'mn\r\n'.length + (clients.length / 8) * 'stats threads\r\n'.length;
  let i = 0;
  for (const c of clients) {
    const req = `set k${i} 0 0 1\r\nx\r\nget k${i}\r\nget missing${i}\r\nincr k${i} 1\r\n`;
    t.is(await ask(c, req, /\r\n(\d+|CLIENT_ERROR [^\r]*)\r\n$/), `STORED\r\nVALUE k${i} 0 1\r\nx\r\nEND\r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n`);
    sent += req.length;
    i++;
  }
  const n = clients.length;
  const st = await stats(asker);
  sent += 'stats\r\n'.length;
  t.is(st.get('cmd_set'), String(n));
  t.is(st.get('cmd_get'), String(2 * n));
  t.is(st.get('get_hits'), String(n));
  t.is(st.get('get_misses'), String(n));
  t.is(st.get('curr_connections'), String(n + 1));
  t.is(st.get('total_connections'), String(Number(base.get('total_connections')) + n));
  t.is(st.get('bytes_read'), String(sent));
  const th = await stats(asker, 'threads');
  let total = 0;
  for (let w = 0; w < 4; w++) total += Number(th.get(`${w}:total_connections`));
  // the workers' connections, all but the listener (counted by the main thread)
  t.is(total, Number(st.get('total_connections')) - 1);
});

test('-t 4: stats conns lists the connections of every worker, and a request pipelined after it waits its turn', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const clients = await spread(t, where, asker);
  const reply = await ask(asker, 'stats conns\r\nset after 0 0 1\r\nz\r\nget after\r\n', 'VALUE after 0 1\r\nz\r\nEND\r\n');
  const at = reply.indexOf('END\r\n');
  t.true(at > 0 && reply.slice(at) === 'END\r\nSTORED\r\nVALUE after 0 1\r\nz\r\nEND\r\n', reply.slice(at));
  const listing = reply.slice(0, at);
  for (const c of [...clients, asker]) t.true(listing.includes(`:addr tcp:127.0.0.1:${c.localPort}\r\n`), `client on port ${c.localPort}`);
  t.regex(listing, /STAT \d+:state conn_listening\r\n/);
  t.regex(listing, /STAT \d+:state conn_parse_cmd\r\n/, 'the asker is running its command');
  const ids = [...listing.matchAll(/STAT (\d+):addr /g)].map((m) => m[1]);
  t.is(new Set(ids).size, ids.length, 'ids are unique over the threads');
  t.is(ids.length, clients.length + 2);
});

test('-t 4: SIGTERM lets every worker finish the replies it has made, then exits 0', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const value = 'v'.repeat(900_000);
  t.is(await ask(asker, `set big 0 0 ${value.length}\r\n${value}\r\n`, 'STORED\r\n'), 'STORED\r\n');
  const clients = await spread(t, where, asker);
  const one = `VALUE big 0 ${value.length}\r\n${value}\r\n`;
  const expected = one.length * 4 + 'END\r\n'.length;
  // each asks for 3.6 MB and reads only its first bytes: the rest waits in the daemon
  const got = clients.map(() => 0);
  const closed = clients.map((c, i) => new Promise<void>((resolve) => {
    c.on('data', (d: Buffer) => {
      got[i] += d.length;
      c.pause();
    });
    c.once('close', () => resolve());
    c.write('get big big big big\r\n');
  }));
  await waitUntil('every client to get the start of its reply', () => got.every((n) => n > 0));
  t.true(got.some((n) => n < expected), 'some replies are still waiting in the daemon');
  sc.child.kill('SIGTERM');
  for (const c of clients) {
    c.resume();
    c.on('data', () => c.resume());
  }
  await Promise.all(closed);
  t.deepEqual(got, clients.map(() => expected), 'every client got its whole reply');
  await sc.done;
  t.deepEqual(sc.exited(), { code: 0, signal: null });
});

test('-t 4 -s: the workers serve the unix socket, made with -a\'s mode', async (t) => {
  const sock = path.join(tmpDir(t), 'mc.sock');
  const p = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-t', '4', '-s', sock, '-a', '600']);
  await waitUntil('the unix socket to accept', async () => {
    if (!p.running()) throw new Error(`daemon exited: ${p.output()}`);
    return fs.existsSync(sock) && (await canConnect({ path: sock }));
  });
  t.is(fs.statSync(sock).mode & 0o777, 0o600);
  const asker = await served(t, { path: sock });
  const clients = await spread(t, { path: sock }, asker);
  t.is(await ask(clients[0], 'set u 0 0 1\r\n1\r\n', 'STORED\r\n'), 'STORED\r\n');
  t.is(await ask(clients[clients.length - 1], 'get u\r\n', 'END\r\n'), 'VALUE u 0 1\r\n1\r\nEND\r\n');
});

test('-t 4 -Z: every worker serves TLS with its own context; refresh_certs reaches them all', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const sc = await startSlabcache(t, ['-t', '4', '-Z', '-o', `ssl_chain_cert=${pki.serverCert},ssl_key=${pki.serverKey}`]);
  const where = { host: '127.0.0.1', port: sc.port };
  const secure: tls.ConnectionOptions = { ca: fs.readFileSync(pki.caCert), servername: 'localhost' };
  const asker = await served(t, where, secure);
  const clients = await spread(t, where, asker, 256, secure);
  t.is(await ask(clients[0], 'set s 0 0 2\r\nok\r\n', 'STORED\r\n'), 'STORED\r\n');
  t.is(await ask(asker, 'refresh_certs\r\n', 'OK\r\n'), 'OK\r\n');
  for (const c of clients) t.is(await ask(c, 'get s\r\n', 'END\r\n'), 'VALUE s 0 2\r\nok\r\nEND\r\n');
  // new connections after the refresh still shake hands, on whichever worker
  await Promise.all(Array.from({ length: 8 }, () => served(t, where, secure)));
});

test('-t 4: a watcher on one worker sees what a client on another worker does', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const before = await perWorker(asker);
  const watcher = net.connect(where);
  t.teardown(() => watcher.destroy());
  let lines = '';
  watcher.on('data', (d: Buffer) => {
    lines += d.toString('latin1');
  });
  watcher.write('watch mutations\r\n');
  await waitUntil('the watcher\'s OK', () => lines.startsWith('OK\r\n'));
  const withWatcher = await perWorker(asker);
  const home = withWatcher.findIndex((n, i) => n === before[i] + 1);
  t.true(home >= 0, `the watcher's worker: ${JSON.stringify(before)} -> ${JSON.stringify(withWatcher)}`);
  // a client the kernel gave to another worker
  let other: net.Socket | null = null;
  for (let tries = 0; other === null && tries < 100; tries++) {
    const was = await perWorker(asker);
    const c = await served(t, where);
    const now = await perWorker(asker);
    if (now[home] === was[home]) other = c;
    else c.destroy();
  }
  t.not(other, null, 'a client on another worker than the watcher\'s');
  t.is(await ask(other!, 'set elsewhere 0 0 1\r\nx\r\n', 'STORED\r\n'), 'STORED\r\n');
  await waitUntil('the watcher to see the store', () => /type=item_store key=elsewhere status=stored cmd=set/.test(lines));
  t.pass();
});

test('-t 4 -o idle_timeout=1: quiet clients on every worker are kicked and counted', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4', '-o', 'idle_timeout=1']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const clients = await spread(t, where, asker);
  await Promise.all([asker, ...clients].map((c) => new Promise((r) => (c.closed ? r(null) : c.once('close', r)))));
  const late = await served(t, where);
  t.true(Number((await stats(late)).get('idle_kicks')) >= clients.length + 1);
});

test('-t 4 -c 8 -o no_maxconns_fast: a client over the limit waits until a slot frees on any worker', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4', '-c', '8', '-o', 'no_maxconns_fast']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  await settled(asker);
  const crowd = await Promise.all(Array.from({ length: 7 }, () => served(t, where)));
  const waiting = net.connect(where);
  t.teardown(() => waiting.destroy());
  let got = '';
  waiting.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  waiting.write('mn\r\n');
  await waitUntil('the daemon to stop accepting', async () => (await stats(asker)).get('accepting_conns') === '0');
  t.is(got, '', 'held, unanswered');
  crowd[0].destroy();
  await waitUntil('the held client to be served', () => got === 'MN\r\n');
  t.is((await stats(asker)).get('accepting_conns'), '1');
});

test('-t 4: admin commands on one worker reach the main thread\'s jobs and every worker\'s settings', async (t) => {
  const sc = await startSlabcache(t, ['-t', '4', '-A']);
  const where = { host: '127.0.0.1', port: sc.port };
  const asker = await served(t, where);
  const clients = await spread(t, where, asker);
  t.is(await ask(asker, 'slabs automove 2\r\nverbosity 1\r\nstats detail on\r\nlru_crawler crawl all\r\n', /^(?:[^\r]*\r\n){4}$/),
    'OK\r\nOK\r\nOK\r\nOK\r\n');
  for (const c of clients) {
    const st = await stats(c, 'settings');
    t.is(st.get('slab_automove'), '2');
    t.is(st.get('verbosity'), '1');
    t.is(st.get('detail_enabled'), 'yes');
  }
  // a shutdown asked on a worker stops the whole daemon
  await ask(clients[0], 'shutdown\r\n', /$^/).catch(() => '');
  await sc.done;
  t.deepEqual(sc.exited(), { code: 0, signal: null });
});

test('-t 4: a second daemon on a port the first serves fails as memcached does, exit 71', async (t) => {
  // where Node has SO_REUSEPORT the workers bind with it, and a second daemon of the
  // same user could join the port; the binder's plain first bind refuses that
  const first = await startSlabcache(t, ['-t', '4']);
  const second = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-t', '4', '-p', String(first.port), '-U', '0']);
  t.is((await second.exited).code, 71);
  t.regex(second.output(), new RegExp(`failed to listen on TCP port ${first.port}: Address already in use`));
  const s = await served(t, { host: '127.0.0.1', port: first.port });
  t.true((await stats(s)).has('threads'), 'the first daemon still serves');
});
