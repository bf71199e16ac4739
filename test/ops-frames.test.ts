/**
 * Pure parts of operations: memcached's UDP frame (byte layouts checked against
 * what memcached 1.6.18 sends), -l address parsing, sd_listen_fds, -u rules.
 */
import test from 'ava';
import {
  decodeUdpHeader, encodeUdpHeader, frameUnit, isServableRequest, UDP_DATA_SIZE, UDP_MAX_PAYLOAD_SIZE,
} from '../src/protocol/udp-frame.js';
import { defaultSettings } from '../src/config.js';
import { TextProtocol } from '../src/protocol/text.js';
import { serveDatagram } from '../src/server/listen-udp.js';
import { makeCache } from './cache-fixture.js';
import { fakeContext } from './meta-helpers.js';
import { parseListenAddress } from '../src/server/listen-tls.js';
import { sdListenFds } from '../src/server/socket-activation.js';
import { EX_USAGE, FatalError, resolveUser, unsupportedFlagWarnings } from '../src/server/process.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('udp header: big-endian id, sequence, total, reserved', (t) => {
  const b = Buffer.alloc(8);
  encodeUdpHeader(b, 0, { requestId: 0x1234, sequence: 1, total: 3, reserved: 0 });
  t.is(hex(b), '1234000100030000'); // as memcached sends the 2nd datagram of 3
  t.deepEqual(decodeUdpHeader(Buffer.concat([b, Buffer.from('x')])), {
    requestId: 0x1234, sequence: 1, total: 3, reserved: 0,
  });
  t.is(decodeUdpHeader(b), null, 'a header alone carries no request');
});

test('udp request: served only when it says it is the only datagram', (t) => {
  const d = (total: number, seq = 0): Buffer => {
    const b = Buffer.alloc(9, 0x61);
    encodeUdpHeader(b, 0, { requestId: 9, sequence: seq, total, reserved: 0 });
    return b;
  };
  t.true(isServableRequest(d(1)));
  t.true(isServableRequest(d(1, 5)), 'memcached ignores the sequence number');
  t.false(isServableRequest(d(2)), 'multi-datagram requests are dropped');
  t.false(isServableRequest(d(0)));
  t.false(isServableRequest(d(1).subarray(0, 8)), 'no payload');
});

test('udp reply: 1392 payload bytes per datagram, 1400 with the header', (t) => {
  t.is(UDP_DATA_SIZE, 1392);
  const unit = Buffer.alloc(3025, 0x78); // "get big" of a 3000-byte value: 3 datagrams in memcached
  const ds = frameUnit(0x1234, unit);
  t.deepEqual(ds.map((d) => d.length), [UDP_MAX_PAYLOAD_SIZE, UDP_MAX_PAYLOAD_SIZE, 3025 - 2 * 1392 + 8]);
  t.deepEqual(ds.map((d) => hex(d.subarray(0, 8))), ['1234000000030000', '1234000100030000', '1234000200030000']);
  t.deepEqual(Buffer.concat(ds.map((d) => d.subarray(8))), unit);
  t.deepEqual(frameUnit(1, Buffer.alloc(1392)).length, 1, 'exactly one full datagram');
  t.deepEqual(frameUnit(1, Buffer.alloc(1393)).length, 2);
  t.deepEqual(frameUnit(1, Buffer.alloc(0)), [], 'an empty reply sends nothing');
});

const V = (key: string, data: string): string => `VALUE ${key} 0 ${data.length}\r\n${data}\r\n`;

/** The response units one datagram of requests is answered in, as strings. */
function udpUnits(requests: string): string[] {
  const { cache } = makeCache();
  const ctx = fakeContext(cache, defaultSettings());
  const msg = Buffer.concat([Buffer.from([0, 5, 0, 0, 0, 1, 0, 0]), Buffer.from(requests, 'latin1')]);
  const ds = serveDatagram(msg, { host: '127.0.0.1', port: 0, cache, makeProtocol: (c) => new TextProtocol(ctx, c) }, 'x');
  // every unit here fits one datagram: sequence 0 of 1
  for (const d of ds) t0(decodeUdpHeader(d));
  return ds.map((d) => d.toString('latin1', 8));
}
function t0(h: ReturnType<typeof decodeUdpHeader>): void {
  if (h === null || h.requestId !== 5 || h.sequence !== 0 || h.total !== 1) throw new Error(`header ${JSON.stringify(h)}`);
}

test('udp reply units: one per key of a get, END with the last key when it hit', (t) => {
  const set = 'set a 0 0 2 noreply\r\nhi\r\n';
  // memcached 1.6.18: "get small small" -> [VALUE][VALUE END]; "get small nokey" -> [VALUE][END]
  t.deepEqual(udpUnits(set + 'get a a\r\n'), [V('a', 'hi'), V('a', 'hi') + 'END\r\n']);
  t.deepEqual(udpUnits(set + 'get a nokey\r\n'), [V('a', 'hi'), 'END\r\n']);
  t.deepEqual(udpUnits(set + 'get x a y\r\n'), [V('a', 'hi'), 'END\r\n']);
  t.deepEqual(udpUnits('get nokey\r\n'), ['END\r\n']);
  // a value holding "\r\nEND\r\n" and "VALUE " is data, not structure
  const tricky = 'x\r\nEND\r\nVALUE y 0 1\r\n';
  t.deepEqual(udpUnits(`set k 0 0 ${tricky.length} noreply\r\n${tricky}\r\nget k\r\n`), [V('k', tricky) + 'END\r\n']);
  // every other command's reply is a unit of its own
  t.deepEqual(udpUnits('set b 0 0 1\r\nx\r\nversion\r\nbogus\r\n').map((u) => u.slice(0, 5)), ['STORE', 'VERSI', 'ERROR']);
  t.deepEqual(udpUnits('set b 0 0 1 noreply\r\nx\r\n'), []);
});

test('-l: memcached address forms', (t) => {
  t.deepEqual(parseListenAddress('127.0.0.1', 11211, false), { host: '127.0.0.1', port: 11211, tls: false });
  t.deepEqual(parseListenAddress('127.0.0.1:2000', 11211, false), { host: '127.0.0.1', port: 2000, tls: false });
  t.deepEqual(parseListenAddress('[::1]', 11211, false), { host: '::1', port: 11211, tls: false });
  t.deepEqual(parseListenAddress('[::1]:2001', 11211, true), { host: '::1', port: 2001, tls: true });
  t.deepEqual(parseListenAddress('::1', 11211, false), { host: '::1', port: 11211, tls: false }, 'bare v6 has no port');
  t.deepEqual(parseListenAddress('*', 5, false), { host: null, port: 5, tls: false });
  t.deepEqual(parseListenAddress('notls:127.0.0.1:2002', 11211, true), { host: '127.0.0.1', port: 2002, tls: false });
  t.throws(() => parseListenAddress('notls:127.0.0.1:1', 11211, false), { message: "'notls' option is valid only when SSL is enabled" });
  t.throws(() => parseListenAddress('[::1', 11211, false), { message: 'Invalid IPV6 address: "[::1"' });
  t.throws(() => parseListenAddress('127.0.0.1:xx', 11211, false), { message: 'Invalid port number: "xx"' });
});

test('sd_listen_fds: fds from 3, only for our own pid', (t) => {
  t.deepEqual(sdListenFds('42', '2', 42), [3, 4]);
  t.deepEqual(sdListenFds('41', '2', 42), [], 'variables leaked from a parent are ignored');
  t.deepEqual(sdListenFds(undefined, '2', 42), []);
  t.deepEqual(sdListenFds('42', 'x', 42), []);
  t.deepEqual(sdListenFds('42', '0', 42), []);
});

test('-u: root needs a user, with memcached message and exit code', (t) => {
  const e = t.throws(() => resolveUser(null, 0), { instanceOf: FatalError });
  t.is(e?.message, "can't run as root without the -u switch");
  t.is((e as FatalError).exitCode, EX_USAGE);
  t.throws(() => resolveUser('no-such-user-slabcache', 0), { message: "can't find the user no-such-user-slabcache to switch to" });
  t.is(resolveUser(null, 1000), null, 'not root: nothing to drop');
  const nobody = resolveUser('nobody', 0);
  t.is(nobody?.name, 'nobody');
  t.true((nobody?.uid ?? 0) > 0);
});

test('-r and -k: a clear warning that Node cannot do it', (t) => {
  const none = { maxCore: false, lockMemory: false, readBufMemLimit: 0 };
  t.deepEqual(unsupportedFlagWarnings(none), []);
  const w = unsupportedFlagWarnings({ ...none, maxCore: true, lockMemory: true });
  t.is(w.length, 2);
  t.regex(w[0], /^warning: -r /);
  t.regex(w[1], /^warning: -k /);
  const given = unsupportedFlagWarnings({ ...none, noEffect: ['-t', '-N', '-t', '-o drop_privileges', '-o sock_cookie_id'] });
  t.deepEqual(given.map((l) => l.split(' accepted')[0]),
    ['warning: -t', 'warning: -N', 'warning: -o drop_privileges', 'warning: -o sock_cookie_id']);
  t.true(given.every((l) => / accepted for compatibility, no effect here: \S/.test(l)));
});
