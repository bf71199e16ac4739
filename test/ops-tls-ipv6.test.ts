/**
 * The real daemon with -Z (TLS, a notls: listener beside it, client
 * certificates) and with several -l addresses including IPv6 loopback.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { freePort, startSlabcache } from './helpers/memcached.js';
import { haveOpenssl, makePki, type TestPki } from './ops-certs.js';
import { ask } from './ops-proc.js';

function tlsAsk(port: number, pki: TestPki, request: string, until: string, withCert: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts: tls.ConnectionOptions = { host: '127.0.0.1', port, ca: fs.readFileSync(pki.caCert), servername: 'localhost' };
    if (withCert) Object.assign(opts, { cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey) });
    const s = tls.connect(opts, () => {
      ask(s, request, until).then((r) => {
        s.destroy();
        resolve(r);
      }, reject);
    });
    s.once('error', reject);
  });
}

test('-Z: TLS on the -l listener, plain on notls:, a plain client refused on TLS', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  let plainPort = 0;
  const { port: tlsPort } = await startSlabcache(t, async () => {
    plainPort = await freePort();
    return ['-Z', '-o', `ssl_chain_cert=${pki.serverCert},ssl_key=${pki.serverKey}`, '-l', `127.0.0.1,notls:127.0.0.1:${plainPort}`];
  });
  t.is(await tlsAsk(tlsPort, pki, 'set k 0 0 3\r\nabc\r\nget k\r\n', 'END\r\n', false), 'STORED\r\nVALUE k 0 3\r\nabc\r\nEND\r\n');
  t.is(await ask({ host: '127.0.0.1', port: plainPort }, 'get k\r\n', 'END\r\n'), 'VALUE k 0 3\r\nabc\r\nEND\r\n', 'notls listener speaks plain text');
  // a plain client on the TLS port: its bytes are no handshake, so no reply, and it is dropped
  const refused = await ask({ host: '127.0.0.1', port: tlsPort }, 'get k\r\n', 'END\r\n').catch((e: Error) => `error ${e.message}`);
  t.false(refused.includes('VALUE'), `plain client got ${JSON.stringify(refused)}`);
});

test('-Z with ssl_verify_mode=2: only clients with a certificate from ssl_ca_cert', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const { port } = await startSlabcache(t, [
    '-Z', '-o', `ssl_chain_cert=${pki.serverCert},ssl_key=${pki.serverKey},ssl_ca_cert=${pki.caCert},ssl_verify_mode=2`,
  ]);
  t.is(await tlsAsk(port, pki, 'get none\r\n', 'END\r\n', true), 'END\r\n');
  const without = await tlsAsk(port, pki, 'get none\r\n', 'END\r\n', false).catch((e: Error) => `error ${e.message}`);
  t.not(without, 'END\r\n', 'a client without a certificate is refused');
});

test('several -l addresses at once, IPv6 loopback included', async (t) => {
  // skip nothing: a machine without ::1 fails here, saying so
  const v6 = execFileSync('ip', ['-6', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  t.regex(v6, /inet6 ::1\/128/, 'this machine has no IPv6 loopback (ip -6 addr shows no ::1)');
  let extra = 0;
  const { port } = await startSlabcache(t, async () => {
    extra = await freePort();
    return ['-l', '127.0.0.1,[::1]', '-l', `127.0.0.1:${extra}`];
  });
  await ask({ host: '127.0.0.1', port }, 'set six 0 0 1\r\n6\r\n', 'STORED\r\n');
  for (const where of [{ host: '::1', port }, { host: '127.0.0.1', port }, { host: '127.0.0.1', port: extra }]) {
    const s = net.connect(where);
    await new Promise((r) => s.once('connect', r));
    t.is(s.remoteAddress, where.host);
    t.is(await ask(s, 'get six\r\n', 'END\r\n'), 'VALUE six 0 1\r\n6\r\nEND\r\n', `${where.host}:${where.port}`);
    s.destroy();
  }
});
