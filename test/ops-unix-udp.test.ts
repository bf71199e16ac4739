/**
 * The real daemon on a unix socket (-s/-a) and on UDP (-U), the UDP datagrams
 * compared byte for byte with memcached 1.6.18's.
 */
import test, { type ExecutionContext } from 'ava';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startMemcached, startSlabcache, SLABCACHE_BIN, freePort } from './helpers/memcached.js';
import { decodeUdpHeader, UDP_MAX_PAYLOAD_SIZE } from '../src/protocol/udp-frame.js';
import { AS_ROOT_ARGS, ask, canConnect, freeUdpPort, IS_ROOT, runProc, tmpDir, uidOf, waitUntil } from './ops-proc.js';

test('-s PATH -a 0660: socket file mode from the mask, served, TCP off, not stolen by a second daemon', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'slabcache.sock');
  const port = await freePort();
  const p = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-s', sock, '-a', '0660', '-p', String(port)]);
  await waitUntil('the unix socket to accept', async () => {
    if (!p.running()) throw new Error(`daemon exited: ${p.output()}`);
    return fs.existsSync(sock) && (await canConnect({ path: sock }));
  });
  const st = fs.statSync(sock);
  t.true(st.isSocket());
  t.is((st.mode & 0o777).toString(8), '660');
  t.is(await ask({ path: sock }, 'set a 0 0 2\r\nhi\r\nget a\r\n', 'END\r\n'), 'STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\n');
  t.false(await canConnect({ host: '127.0.0.1', port }), '-s turns TCP off, as in memcached');

  const second = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-s', sock, '-p', String(port)]);
  const how = await second.exited;
  t.not(how.code, 0, 'a second daemon on the same live socket must fail');
  t.regex(second.output(), /another process is serving it/);
  t.is(await ask({ path: sock }, 'get a\r\n', 'END\r\n'), 'VALUE a 0 2\r\nhi\r\nEND\r\n', 'the first still owns it');

  p.child.kill('SIGTERM');
  t.is((await p.exited).code, 0);
});

test('-s: a stale socket file from a killed daemon is replaced', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'stale.sock');
  const first = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-s', sock]);
  await waitUntil('the unix socket', async () => first.running() && fs.existsSync(sock) && canConnect({ path: sock }));
  first.child.kill('SIGKILL'); // a crash: nothing cleans up
  await first.exited;
  t.true(fs.lstatSync(sock).isSocket(), 'the crashed daemon left its socket file');
  const second = runProc(t, process.execPath, [SLABCACHE_BIN, ...AS_ROOT_ARGS, '-s', sock]);
  await waitUntil('the new daemon on the old path', async () => {
    if (!second.running()) throw new Error(`daemon exited: ${second.output()}`);
    return canConnect({ path: sock });
  });
  t.regex(await ask({ path: sock }, 'version\r\n', '\r\n'), /^VERSION \S+\r\n$/);
});

/** A UDP client that collects datagrams per request id. */
class UdpClient {
  readonly sock: dgram.Socket;
  private got: Buffer[] = [];
  private wake: (() => void) | null = null;
  constructor(readonly port: number) {
    this.sock = dgram.createSocket('udp4');
    this.sock.on('message', (m) => {
      this.got.push(m);
      this.wake?.();
    });
  }
  send(id: number, payload: string | Buffer, total = 1): Promise<void> {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(0, 2);
    h.writeUInt16BE(total, 4);
    return new Promise((r) => this.sock.send(Buffer.concat([h, Buffer.from(payload)]), this.port, '127.0.0.1', () => r()));
  }
  /**
   * Every datagram answering `payload`, in arrival order: a sentinel request
   * ("mn", its own id) follows, and the server answers in order, so all of the
   * first reply has come once the sentinel's MN is in.
   */
  async exchange(id: number, payload: string | Buffer, total = 1): Promise<Buffer[]> {
    this.got = [];
    await this.send(id, payload, total);
    await this.send(0xfffe, 'mn\r\n');
    const deadline = Date.now() + 10_000;
    while (!this.got.some((d) => d.readUInt16BE(0) === 0xfffe)) {
      if (Date.now() > deadline) throw new Error('no reply to the sentinel');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    return this.got.filter((d) => d.readUInt16BE(0) !== 0xfffe);
  }
  close(): void {
    this.sock.close();
  }
}

async function udpServers(t: ExecutionContext): Promise<{ mc: UdpClient; sc: UdpClient; tcp: { mc: number; sc: number } }> {
  const mcUdp = await freeUdpPort();
  // one worker thread: memcached's threads share the UDP socket and may answer out of order,
  // which would break the sentinel that tells us a reply is complete
  const mc = await startMemcached(t, ['-t', '1', '-U', String(mcUdp)]);
  const scUdp = await freeUdpPort();
  const sc = await startSlabcache(t, ['-U', String(scUdp), '-l', '127.0.0.1']);
  const clients = { mc: new UdpClient(mcUdp), sc: new UdpClient(scUdp) };
  t.teardown(() => {
    clients.mc.close();
    clients.sc.close();
  });
  return { ...clients, tcp: { mc: mc.port, sc: sc.port } };
}

const show = (ds: Buffer[]): string[] => ds.map((d) => `${d.subarray(0, 8).toString('hex')} ${JSON.stringify(d.subarray(8).toString('latin1'))}`);

test('UDP: datagrams match memcached byte for byte, large values over several datagrams', async (t) => {
  const { mc, sc, tcp } = await udpServers(t);
  const setup = `set big 5 0 3000\r\n${'x'.repeat(3000)}\r\nset edge 0 0 1375\r\n${'e'.repeat(1375)}\r\nset small 1 0 2\r\nhi\r\n`;
  for (const port of [tcp.mc, tcp.sc]) {
    t.is(await ask({ host: '127.0.0.1', port }, setup, 'STORED\r\nSTORED\r\nSTORED\r\n'), 'STORED\r\nSTORED\r\nSTORED\r\n');
  }
  const cases = [
    'get small\r\n', 'get big\r\n', 'get big small\r\n', 'get small small\r\n', 'get small nokey\r\n',
    'get nokey\r\n', 'gets small\r\n', 'get edge\r\n', 'get small\r\nget big\r\n', 'bogus\r\n',
    'set u 0 0 1\r\na\r\n', 'set q 0 0 1 noreply\r\nb\r\nget q\r\n', 'incr nokey 1\r\n', 'mg small v f\r\n',
    'delete u\r\n', 'touch small 0\r\n',
  ];
  for (const [i, req] of cases.entries()) {
    const id = 0x1200 + i;
    const a = await mc.exchange(id, req);
    const b = await sc.exchange(id, req);
    // gets' CAS differs between the two servers; everything else is byte-exact
    const norm = (ds: Buffer[]): string[] => show(ds).map((s) => (req.startsWith('gets') ? s.replace(/ \d+\\r\\n/, ' CAS\\r\\n') : s));
    t.deepEqual(norm(b), norm(a), `reply to ${JSON.stringify(req)}`);
  }
  // the 3000-byte value: 3 datagrams of at most 1400 bytes, sequence 0..2 of 3
  const big = await sc.exchange(7, 'get big\r\n');
  t.deepEqual(big.map((d) => decodeUdpHeader(d)), [0, 1, 2].map((s) => ({ requestId: 7, sequence: s, total: 3, reserved: 0 })));
  t.true(big.every((d) => d.length <= UDP_MAX_PAYLOAD_SIZE));
  t.is(Buffer.concat(big.map((d) => d.subarray(8))).toString(), `VALUE big 5 3000\r\n${'x'.repeat(3000)}\r\nEND\r\n`);
});

test('UDP: a request spread over several datagrams is dropped, and the next is served', async (t) => {
  const { sc, mc } = await udpServers(t);
  for (const c of [mc, sc]) {
    const got = await c.exchange(0x22, 'version\r\n', 2); // says "2 datagrams": not served
    t.deepEqual(got, []);
  }
  const v = await sc.exchange(0x23, 'get nothing\r\n');
  t.deepEqual(show(v), ['0023000000010000 "END\\r\\n"']);
});

test('UDP: a 60 KB value comes back in 44 datagrams that reassemble exactly', async (t) => {
  const { sc, tcp } = await udpServers(t);
  const value = Buffer.alloc(60_000);
  for (let i = 0; i < value.length; i++) value[i] = 0x41 + (i % 26);
  await ask({ host: '127.0.0.1', port: tcp.sc }, Buffer.concat([Buffer.from('set huge 0 0 60000\r\n'), value, Buffer.from('\r\n')]), 'STORED\r\n');
  const ds = await sc.exchange(0x4242, 'get huge\r\n');
  const reply = Buffer.concat([Buffer.from('VALUE huge 0 60000\r\n'), value, Buffer.from('\r\nEND\r\n')]);
  const n = Math.ceil(reply.length / 1392);
  t.is(ds.length, n);
  ds.forEach((d, i) => t.deepEqual(decodeUdpHeader(d), { requestId: 0x4242, sequence: i, total: n, reserved: 0 }));
  t.true(Buffer.concat(ds.map((d) => d.subarray(8))).equals(reply));
});

test('-s with -u: the socket file is handed to the user the daemon becomes', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'owned.sock');
  const target = IS_ROOT ? Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()) : process.getuid!();
  const p = runProc(t, process.execPath, [SLABCACHE_BIN, ...(IS_ROOT ? ['-u', 'nobody'] : []), '-s', sock, '-a', '0600']);
  await waitUntil('the unix socket', async () => {
    if (!p.running()) throw new Error(`daemon exited: ${p.output()}`);
    // the file is chowned just before the process changes user: wait for both
    return fs.existsSync(sock) && fs.statSync(sock).uid === target && uidOf(p.child.pid!) === target
      && (await canConnect({ path: sock }));
  });
  t.is(uidOf(p.child.pid!), target, 'the daemon runs as the -u user');
  t.is(fs.statSync(sock).uid, target);
  t.is(await ask({ path: sock }, 'get none\r\n', 'END\r\n'), 'END\r\n', 'root may still connect to a 0600 socket');
  p.child.kill('SIGTERM');
  t.is((await p.exited).code, 0);
});
