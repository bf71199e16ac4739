// A fixed request script for counting a server's instructions per request.
//
//   node test/bench/instr-client.mjs PORT LOAD WARMUP REQUESTS
//
// One connection, one request at a time (one read and one write per request on the
// server, as under memaslap). LOAD is one of compare.sh's closed loads:
//   a  ascii, 90% get (always a hit) / 10% set, 100 B values, 1,000 keys
//   b  the same in the binary protocol
//   c  ascii `get` of 10 keys (hits), 100 B values
//   d  ascii 90/10 as a, 4 KiB values
// WARMUP requests are sent first, then windows of REQUESTS requests. Before each window
// the script prints `window` and waits for a line on stdin, so that the caller can zero
// the server's counters; after the last one it prints `done` and exits
// (test/bench/instructions.sh).
import net from 'node:net';

const [port, load, warmup, requests, windows] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4]),
  Number(process.argv[5]), Number(process.argv[6] ?? 2)];
const KEYS = 1000;
const size = load === 'd' ? 4096 : 100;
const value = Buffer.alloc(size, 'v');
const keyOf = (i) => `key:${String(i % KEYS).padStart(6, '0')}`;

function asciiSet(i) {
  return Buffer.concat([Buffer.from(`set ${keyOf(i)} 0 0 ${size}\r\n`), value, Buffer.from('\r\n')]);
}
function binary(opcode, key, extras, val) {
  const k = Buffer.from(key);
  const h = Buffer.alloc(24);
  h[0] = 0x80; h[1] = opcode;
  h.writeUInt16BE(k.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + k.length + val.length, 8);
  return Buffer.concat([h, extras, k, val]);
}
const binSet = (i) => binary(0x01, keyOf(i), Buffer.alloc(8), value);
const binGet = (i) => binary(0x00, keyOf(i), Buffer.alloc(0), Buffer.alloc(0));

// each request with the length or the last bytes of its reply, made before any is sent
function request(i) {
  const isSet = i % 10 === 9;
  switch (load) {
    case 'a': case 'd':
      return isSet ? [asciiSet(i), 'STORED\r\n'] : [Buffer.from(`get ${keyOf(i)}\r\n`), 'END\r\n'];
    case 'b':
      return isSet ? [binSet(i), 24] : [binGet(i), 24 + 4 + size];
    case 'c': {
      const keys = [];
      for (let j = 0; j < 10; j++) keys.push(keyOf(i * 10 + j));
      return [Buffer.from(`get ${keys.join(' ')}\r\n`), 'END\r\n'];
    }
    default: throw new Error(`unknown load ${load}`);
  }
}
const script = [];
for (let i = 0; i < KEYS; i++) script.push(load === 'b' ? [binSet(i), 24] : [asciiSet(i), 'STORED\r\n']);
for (let i = 0; i < warmup + windows * requests; i++) script.push(request(i));
const stops = new Set();
for (let w = 0; w <= windows; w++) stops.add(KEYS + warmup + w * requests);

let lines = 0; // lines the caller sent that no window has taken yet
let waiting = null;
process.stdin.setEncoding('latin1');
process.stdin.on('data', (d) => {
  for (const ch of d) if (ch === '\n') lines++;
  if (waiting !== null && lines > 0) { lines--; const w = waiting; waiting = null; w(); }
});

const sock = net.connect(port, '127.0.0.1');
sock.setNoDelay(true);
let at = 0;
let got = Buffer.alloc(0);
function send() {
  if (stops.has(at)) {
    stops.delete(at);
    if (at === script.length) {
      process.stdout.write('done\n');
      sock.end();
      process.stdin.destroy();
      return;
    }
    process.stdout.write('window\n');
    const go = () => sock.write(script[at][0]);
    if (lines > 0) { lines--; go(); } else waiting = go;
    return;
  }
  sock.write(script[at][0]);
}
sock.on('connect', send);
sock.on('data', (d) => {
  got = got.length === 0 ? d : Buffer.concat([got, d]);
  const end = script[at][1];
  const done = typeof end === 'number' ? got.length >= end
    : got.length >= end.length && got.subarray(got.length - end.length).toString() === end;
  if (!done) return;
  got = Buffer.alloc(0);
  at++;
  send();
});
sock.on('error', (e) => { console.error(e.message); process.exit(1); });
