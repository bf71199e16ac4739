/**
 * Listening: every -l address (comma lists, bracketed IPv6) on port 0 gets its
 * own port from the OS, exposed by startDaemon; close() stops everything.
 */
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { haveOpenssl, makePki } from './ops-certs.js';
import { telnet } from './helpers/telnet.js';
import { daemon } from './server-fixture.js';

test('-l 127.0.0.1,[::1] -p 0: one OS-chosen port per address, each serving', async (t) => {
  const d = await daemon(t, { interfaces: ['127.0.0.1,[::1]'] });
  t.is(d.ports.length, 2);
  t.is(d.port, d.ports[0]);
  const v4 = await telnet(t, d.ports[0], '127.0.0.1');
  await v4.says('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  const v6 = await telnet(t, d.ports[1], '::1');
  await v6.says('get a\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n');
  await v6.send('stats conns\r\n');
  t.regex((await v6.readUntil('END\r\n')).toString(), /addr tcp6:\[::1\]:\d+\r\n/);
});

test('close() ends connections and stops listening', async (t) => {
  const d = await daemon(t);
  const c = await telnet(t, d.port);
  await c.says('mn\r\n', 'MN\r\n');
  await d.close();
  await c.expectClosed('');
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(d.port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED');
});

test('a port in use is a startup error with memcached\'s words', async (t) => {
  const d = await daemon(t);
  const err = await t.throwsAsync(daemon(t, { port: d.port }));
  t.is(err?.message, `failed to listen on TCP port ${d.port}: Address already in use`);
});

test('-Z: refresh_certs reloads the certificate files, and says what is wrong with them', async (t) => {
  t.true(haveOpenssl(), 'the openssl command is needed to make test certificates');
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const d = await daemon(t, { ssl: true, ssl_chain_cert: pki.serverCert, ssl_key: pki.serverKey });
  const sock = tls.connect({ host: '127.0.0.1', port: d.port, ca: fs.readFileSync(pki.caCert) });
  t.teardown(() => sock.destroy());
  await new Promise((r) => sock.once('secureConnect', r));
  let got = '';
  const reply = (): Promise<string> => new Promise((resolve) => {
    const on = (b: Buffer): void => {
      got += b.toString();
      if (got.endsWith('\r\n')) {
        sock.off('data', on);
        const r = got;
        got = '';
        resolve(r);
      }
    };
    sock.on('data', on);
  });
  sock.write('refresh_certs\r\n');
  t.is(await reply(), 'OK\r\n');
  fs.rmSync(pki.serverKey);
  sock.write('refresh_certs noreply\r\n');
  t.regex(await reply(), /^Error loading the private key .*\r\n$/);
});
