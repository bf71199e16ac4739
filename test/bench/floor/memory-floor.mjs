// The memory floor of a Node server under loads f and g: the onread path of
// onread-path.mjs, answering every `get` with END and every `set` with STORED (its value
// skipped, across reads too) and anything else (`stats`) with ERROR. It keeps nothing,
// so its RSS under a load is what Node itself holds to serve that traffic; slabcache's
// RSS less this less its -m arena and hash table is what slabcache's own code holds.
//
//   node test/bench/floor/memory-floor.mjs -p PORT
//
// NOTE: `handle` and `_handle` are not public API (see onread-path.mjs).
import net from 'node:net';

const END = Buffer.from('END\r\n');
const STORED = Buffer.from('STORED\r\n');
const ERROR = Buffer.from('ERROR\r\n');
const port = Number(process.argv[process.argv.indexOf('-p') + 1]);
const readBuf = Buffer.allocUnsafe(64 * 1024);
const outBuf = Buffer.allocUnsafe(64 * 1024);

net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
  const handle = accepted._handle;
  accepted._handle = null; // the new Socket owns the handle from here
  let skip = 0; // value bytes (and their \r\n) still to come
  let tail = null; // an unfinished command line
  const sock = new net.Socket({
    handle, readable: true, writable: true,
    onread: {
      buffer: readBuf,
      callback(n, d) {
        let buf = d;
        let end = n;
        let i = Math.min(skip, n);
        skip -= i;
        if (tail !== null) {
          buf = Buffer.concat([tail, d.subarray(i, n)]);
          end = buf.length;
          i = 0;
          tail = null;
        }
        let o = 0;
        while (i < end) {
          if (skip > 0) {
            const k = Math.min(skip, end - i);
            skip -= k;
            i += k;
            continue;
          }
          const nl = buf.indexOf(10, i);
          if (nl < 0 || nl >= end) {
            tail = Buffer.from(buf.subarray(i, end));
            break;
          }
          let reply = ERROR;
          if (buf[i] === 0x67) reply = END;
          else if (buf[i] === 0x73 && buf[i + 1] === 0x65) {
            // set <key> <flags> <exptime> <bytes>
            skip = Number(buf.toString('latin1', i, nl - 1).split(' ')[4]) + 2;
            reply = STORED;
          }
          reply.copy(outBuf, o);
          o += reply.length;
          i = nl + 1;
        }
        // a copy: the socket may hold the buffer after write() returns
        if (o > 0) sock.write(Buffer.from(outBuf.subarray(0, o)));
      },
    },
  });
  sock.setNoDelay(true);
  sock.on('error', () => {});
  sock.resume();
}).listen(port, '127.0.0.1');
