// onread-path.mjs with its writes handed straight to the libuv handle: no
// Writable.write, no socket write callback or nextTick per reply. The write
// request object is reused while writes complete at once (the usual case: the
// kernel takes a small reply whole); one that has to wait keeps its request, and
// the next write gets a new one, and so does the output buffer. Same replies as onread-path.mjs. NOTE:
// process.binding('stream_wrap') and `_handle` are not public API; this is a
// measurement of what the direct write saves.
import net from 'node:net';

const { WriteWrap, streamBaseState, kLastWriteWasAsync } = process.binding('stream_wrap');
const END = Buffer.from('END\r\n');
const STORED = Buffer.from('STORED\r\n');
const port = Number(process.argv[process.argv.indexOf('-p') + 1]);
const readBuf = Buffer.allocUnsafe(64 * 1024);
let outBuf = Buffer.allocUnsafe(64 * 1024);
let req = null;
function done() {}

net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
  const handle = accepted._handle;
  accepted._handle = null; // the new Socket owns the handle from here
  const sock = new net.Socket({
    handle, readable: true, writable: true,
    onread: {
      buffer: readBuf,
      callback(n, d) {
        let o = 0;
        let i = 0;
        while (i < n) {
          const nl = d.indexOf(10, i);
          if (nl < 0 || nl >= n) break;
          if (d[i] === 0x67) { END.copy(outBuf, o); o += END.length; i = nl + 1; continue; }
          if (d[i] === 0x73) { STORED.copy(outBuf, o); o += STORED.length; i = d.indexOf(10, nl + 1) + 1; continue; }
          i = nl + 1;
        }
        if (o === 0) return;
        if (req === null) { req = new WriteWrap(); req.oncomplete = done; }
        const b = outBuf.subarray(0, o);
        const err = handle.writeBuffer(req, b);
        if (err !== 0) { sock.destroy(); return; }
        // waiting in libuv: that request and those bytes are its own now
        if (streamBaseState[kLastWriteWasAsync] !== 0) {
          req.buffer = outBuf;
          req = null;
          outBuf = Buffer.allocUnsafe(64 * 1024);
        }
      },
    },
  });
  sock.setNoDelay(true);
  sock.on('error', () => {});
  sock.resume();
}).listen(port, '127.0.0.1');
