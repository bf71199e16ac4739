// The floor of Node's stream path: 'data' events and socket.write, no cache.
// Answers each `get` line with END and each `set` (line + data line) with STORED.
// Run through compare.sh like any candidate, from the project root:
//   test/bench/compare/compare.sh 'node test/bench/floor/stream-path.mjs' 3
import net from 'node:net';

const END = Buffer.from('END\r\n');
const STORED = Buffer.from('STORED\r\n');
const port = Number(process.argv[process.argv.indexOf('-p') + 1]);

net.createServer({ noDelay: true }, (sock) => {
  sock.on('data', (d) => {
    const out = [];
    let i = 0;
    while (i < d.length) {
      const nl = d.indexOf(10, i);
      if (nl < 0) break;
      if (d[i] === 0x67) { out.push(END); i = nl + 1; continue; }
      if (d[i] === 0x73) { out.push(STORED); i = d.indexOf(10, nl + 1) + 1; continue; }
      i = nl + 1;
    }
    if (out.length === 1) sock.write(out[0]);
    else if (out.length > 1) sock.write(Buffer.concat(out));
  });
  sock.on('error', () => {});
}).listen(port, '127.0.0.1');
