/**
 * Authentication against real memcached started the same way: `-S` (binary SASL;
 * memcached's cyrus config says `mech_list: plain`) and `-Y` (ascii auth), compared
 * byte for byte. The Debian memcached here is built without MEMCACHED_SASL_PWDB
 * support, so its PLAIN never succeeds: the -S scripts cover the refusals, and
 * sasl-server.test.ts covers logging in.
 */
import test from 'ava';
import net from 'node:net';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { exchange, masked, pkt } from './binary-client.js';
import { authFiles } from './sasl-fixture.js';

const noop = pkt({ op: 0x0a, opaque: 99 });
const SASL_SCRIPTS: Record<string, Buffer[]> = {
  'list mechs and version need no login': [pkt({ op: 0x20, opaque: 1 }), pkt({ op: 0x0b, opaque: 2 })],
  'any other command before login: Auth failure and close': [pkt({ op: 0x00, key: 'a', opaque: 3 })],
  'stat before login': [pkt({ op: 0x10, opaque: 3 })],
  'wrong password': [pkt({ op: 0x21, key: 'PLAIN', value: '\0alice\0nope', opaque: 4 })],
  'unknown user': [pkt({ op: 0x21, key: 'PLAIN', value: '\0mallory\0secret' })],
  'no initial response asks to continue': [pkt({ op: 0x21, key: 'PLAIN', opaque: 5 })],
  'step before auth': [pkt({ op: 0x22, key: 'PLAIN', value: '\0alice\0secret' })],
  'unknown mechanism': [pkt({ op: 0x21, key: 'NOPE', value: 'x' })],
  'mechanism name too long': [pkt({ op: 0x21, key: 'P'.repeat(33), value: 'abc' })],
  'auth with extras': [pkt({ op: 0x21, key: 'PLAIN', extras: Buffer.alloc(4) })],
  'list mechs with a body': [pkt({ op: 0x20, key: 'x' })],
};

test('-S: binary SASL refusals match memcached byte for byte', async (t) => {
  const f = authFiles(t);
  const env = { MEMCACHED_SASL_PWDB: f.pwdb, SASL_CONF_PATH: f.saslConf };
  const [mc, sc] = await Promise.all([startMemcached(t, ['-S'], { env }), startSlabcache(t, ['-S'], { env })]);
  for (const [name, reqs] of Object.entries(SASL_SCRIPTS)) {
    // still unauthenticated at the end: the NOOP gets Auth failure and the close
    const script = [...reqs, noop];
    const [a, b] = await Promise.all([exchange(mc.port, script), exchange(sc.port, script)]);
    t.true(a.closed, name);
    t.is(masked(b), masked(a), name);
  }
  // text on a -S server is read as binary: a bad magic, closed without a word
  const text = Buffer.from('get a\r\n'.padEnd(24, ' '));
  const [a, b] = await Promise.all([exchange(mc.port, [text]), exchange(sc.port, [text])]);
  t.is(masked(b), masked(a));
  t.is(b.bytes.length, 0);
  t.true(b.closed);
});

/** Sends `script` and collects everything until the server closes. */
function untilClose(port: number, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close; got ${JSON.stringify(Buffer.concat(got).toString('latin1'))}`));
    }, 5000);
    s.on('data', (d) => got.push(d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString('latin1'));
    });
    s.on('error', () => undefined);
    s.on('connect', () => s.write(script));
  });
}

const LOGIN = 'set x 0 0 12\r\nalice secret\r\n';
const ASCII_SCRIPTS: Record<string, string> = {
  'commands before login, a wrong password, then a login': 'get a\r\nversion\r\nset x 0 0 11\r\nalice wrong\r\n' +
    `${LOGIN}get a\r\nset k 0 0 1\r\nv\r\nget k\r\nquit\r\n`,
  'a data block with a bad ending': `set x 0 0 3\r\nabcde\r\n${LOGIN}quit\r\n`,
  'one word in the data block': `set x 0 0 5\r\nalice\r\n${LOGIN}quit\r\n`,
  'a short set line': `set x 0 0\r\n${LOGIN}quit\r\n`,
  'a non-numeric size': `set x 0 0 abc\r\n${LOGIN}quit\r\n`,
  'extra words are fine': `set x 0 0 17 noreply\r\nalice secret more\r\nquit\r\n`,
  'a password with an extra field in the file does not match': `set x 0 0 11\r\nbob hunter2\r\n${LOGIN}quit\r\n`,
  'counted in stats': `set x 0 0 3\r\na b\r\n${LOGIN}stats\r\nquit\r\n`,
};

test('-Y: ascii authentication matches memcached byte for byte', async (t) => {
  const f = authFiles(t);
  const [mc, sc] = await Promise.all([startMemcached(t, ['-Y', f.pwdb]), startSlabcache(t, ['-Y', f.pwdb])]);
  for (const [name, script] of Object.entries(ASCII_SCRIPTS)) {
    const [a, b] = await Promise.all([untilClose(mc.port, script), untilClose(sc.port, script)]);
    if (name === 'counted in stats') {
      const stat = (s: string, n: string) => new RegExp(`STAT ${n} (\\d+)`).exec(s)?.[1];
      t.is(stat(b, 'auth_cmds'), stat(a, 'auth_cmds'));
      t.is(stat(b, 'auth_errors'), stat(a, 'auth_errors'));
      continue;
    }
    t.is(b, a, name);
  }
});
