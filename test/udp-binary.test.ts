/**
 * memcached 1.6.18's t/udp.t, replayed against slabcache and memcached: request ids
 * echoed in the frame header, then set, get (a hit and a miss), incr, decr and delete
 * over UDP in the text and the binary protocol, each answer checked as t/udp.t checks
 * it and the datagrams compared with memcached's byte for byte (CAS masked).
 */
import test, { type ExecutionContext } from 'ava';
import dgram from 'node:dgram';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { freeUdpPort, ask } from './ops-proc.js';
import { arithExt, ext, pkt } from './binary-client.js';

const SENTINEL_ID = 0xfffe;
const CMD_GET = 0x00;
const CMD_SET = 0x01;
const CMD_DELETE = 0x04;
const CMD_INCR = 0x05;
const CMD_DECR = 0x06;

/** A UDP client: one request datagram, then every datagram answering it. */
class UdpClient {
  private readonly sock = dgram.createSocket('udp4');
  private got: Buffer[] = [];
  private wake: (() => void) | null = null;
  constructor(readonly port: number) {
    this.sock.on('message', (m) => {
      this.got.push(m);
      this.wake?.();
    });
  }
  private send(id: number, payload: Buffer): Promise<void> {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(1, 4); // sequence 0 of 1, reserved 0: as t/udp.t's send_udp_request
    return new Promise((r) => this.sock.send(Buffer.concat([h, payload]), this.port, '127.0.0.1', () => r()));
  }
  /**
   * The datagrams answering `payload`: a text `mn` with its own id follows it, and a
   * single-threaded server answers datagrams in order, so all of the reply is in once
   * the MN is. Throws after 10 s, saying what it waited for.
   */
  async exchange(id: number, payload: string | Buffer): Promise<Buffer[]> {
    this.got = [];
    await this.send(id, Buffer.from(payload));
    await this.send(SENTINEL_ID, Buffer.from('mn\r\n'));
    const deadline = Date.now() + 10_000;
    while (!this.got.some((d) => d.readUInt16BE(0) === SENTINEL_ID)) {
      if (Date.now() > deadline) throw new Error(`no MN to the sentinel after request ${id}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    return this.got.filter((d) => d.readUInt16BE(0) !== SENTINEL_ID);
  }
  close(): void {
    this.sock.close();
  }
}

/** t/udp.t's construct_udp_message: payloads in sequence order, checking the headers as it does. */
function message(t: ExecutionContext, reqId: number, datagrams: Buffer[]): Buffer {
  t.true(datagrams.length > 0, `an answer to request ${reqId}`);
  const bySeq = new Map<number, Buffer>();
  for (const d of datagrams) {
    t.is(d.readUInt16BE(0), reqId, 'request id echoed');
    t.is(d.readUInt16BE(6), 0, 'reserved area zero');
    t.is(d.readUInt16BE(4), datagrams.length, 'the count of datagrams');
    bySeq.set(d.readUInt16BE(2), d.subarray(8));
  }
  return Buffer.concat([...Array(datagrams.length).keys()].map((s) => bySeq.get(s) ?? Buffer.alloc(0)));
}

/** Binary response fields as t/udp.t unpacks them (RES_PKT_FMT). */
const status = (r: Buffer): number => r.readUInt16BE(6);
const body = (r: Buffer): Buffer => r.subarray(24 + r[4] + r.readUInt16BE(2), 24 + r.readUInt32BE(8));
/** CAS differs between servers: zero it in every binary response before comparing. */
function maskCas(ds: Buffer[]): string[] {
  return ds.map((d) => {
    const c = Buffer.from(d);
    if (c.length >= 8 + 24 && c[8] === 0x81) c.fill(0, 8 + 16, 8 + 24);
    return c.toString('hex');
  });
}

/** The whole of t/udp.t against one server; returns every datagram it got, in order. */
async function udpT(t: ExecutionContext, tcpPort: number, udp: UdpClient): Promise<Buffer[][]> {
  const all: Buffer[][] = [];
  const exchange = async (id: number, req: string | Buffer): Promise<Buffer> => {
    const ds = await udp.exchange(id, req);
    all.push(ds);
    return message(t, id, ds);
  };
  t.is(await ask({ host: '127.0.0.1', port: tcpPort }, 'set foo 0 0 6\r\nfooval\r\n', '\r\n'), 'STORED\r\n');
  // the sequence of request ids
  for (const offt of [1, 1, 2]) {
    const req = 160 + offt;
    const ds = await udp.exchange(req, 'get foo\r\n');
    all.push(ds);
    t.is(ds.length, 1, 'one packet');
    t.is(ds[0].readUInt16BE(2), 0, 'sequence 0');
    t.is(ds[0].subarray(8).toString(), 'VALUE foo 0 6\r\nfooval\r\nEND\r\n');
    t.is(ds[0].readUInt16BE(0), req, `request number ${req} in the response`);
  }
  // op tests, ascii then binary
  for (const prot of [0, 1]) {
    const id = 45;
    const set = async (key: string, value: string): Promise<void> => {
      const r = await exchange(id, prot === 0 ? `set ${key} 0 0 ${value.length}\r\n${value}\r\n`
        : pkt({ op: CMD_SET, key, extras: ext(0, 0), value }));
      if (prot === 0) t.is(r.toString(), 'STORED\r\n', `store ${key}`);
      else t.is(status(r), 0, `store ${key} (binary)`);
    };
    const get = async (key: string, value: string | null): Promise<void> => {
      const r = await exchange(id, prot === 0 ? `get ${key}\r\n` : pkt({ op: CMD_GET, key }));
      if (prot === 0) t.is(r.toString(), value === null ? 'END\r\n' : `VALUE ${key} 0 ${value.length}\r\n${value}\r\nEND\r\n`);
      else if (value === null) t.is(status(r), 1, `${key} missing (binary)`);
      else {
        t.is(status(r), 0, `retrieve ${key} (binary)`);
        t.is(body(r).toString(), value);
      }
    };
    const arith = async (key: string, incr: boolean, delta: number, expected: number): Promise<void> => {
      const r = await exchange(id, prot === 0 ? `${incr ? 'incr' : 'decr'} ${key} ${delta}\r\n`
        : pkt({ op: incr ? CMD_INCR : CMD_DECR, key, extras: arithExt(BigInt(delta), 0n, 0) }));
      if (prot === 0) t.is(r.toString(), `${expected}\r\n`);
      else {
        t.is(status(r), 0, `${incr ? 'incr' : 'decr'} ${key} (binary)`);
        t.is(body(r).readBigUInt64BE(0), BigInt(expected));
      }
    };
    await set(`aval${prot}`, '1');
    await set(`bval${prot}`, 'abcd'.repeat(1024));
    await get(`aval${prot}`, '1');
    await get(`404${prot}`, null);
    await arith(`aval${prot}`, true, 1, 2);
    await arith(`aval${prot}`, false, 2, 0);
    const r = await exchange(id, prot === 0 ? `delete aval${prot}\r\n` : pkt({ op: CMD_DELETE, key: `aval${prot}` }));
    if (prot === 0) t.is(r.toString(), 'DELETED\r\n');
    else t.is(status(r), 0, 'delete (binary)');
  }
  return all;
}

test("memcached's t/udp.t: text and binary over UDP, checked as it checks them, datagrams as memcached's", async (t) => {
  const [mcUdp, scUdp] = [await freeUdpPort(), await freeUdpPort()];
  // one worker thread: memcached's threads share the UDP socket and could answer out of order
  const [mc, sc] = await Promise.all([
    startMemcached(t, ['-t', '1', '-U', String(mcUdp)]),
    startSlabcache(t, ['-U', String(scUdp), '-l', '127.0.0.1']),
  ]);
  const clients = [new UdpClient(mcUdp), new UdpClient(scUdp)];
  t.teardown(() => clients.forEach((c) => c.close()));
  const want = await udpT(t, mc.port, clients[0]);
  const got = await udpT(t, sc.port, clients[1]);
  t.deepEqual(got.map(maskCas), want.map(maskCas), 'slabcache datagrams (actual) vs memcached (expected)');
});

test('-B ascii: a binary datagram gets no answer, a text one does', async (t) => {
  const port = await freeUdpPort();
  await startSlabcache(t, ['-B', 'ascii', '-U', String(port), '-l', '127.0.0.1']);
  const c = new UdpClient(port);
  t.teardown(() => c.close());
  t.deepEqual(await c.exchange(1, pkt({ op: CMD_GET, key: 'x' })), []);
  t.is((await c.exchange(2, 'get x\r\n')).map((d) => d.subarray(8).toString()).join(''), 'END\r\n');
});
