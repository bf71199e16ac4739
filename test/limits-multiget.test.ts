/**
 * docs/limits.md's multiget row: a `get` line may pass 2048 bytes without its newline
 * (as in memcached), but not 16 MiB. memcached has no cap there and grows its buffer
 * without bound; slabcache closes the connection.
 */
import test from 'ava';
import { startSlabcache } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.from('get ' + 'key:00000 '.repeat(MiB / 10)); // ~1 MiB of one get line

test('a multiget line of 4 MiB is answered', async (t) => {
  const server = await startSlabcache(t);
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  await c.send(Buffer.concat([CHUNK, CHUNK.subarray(4), CHUNK.subarray(4), CHUNK.subarray(4), Buffer.from('\r\n')]));
  t.is((await c.readUntil('END\r\n', 30_000)).toString(), 'END\r\n');
});

test('a multiget line past 16 MiB without a newline closes the connection', async (t) => {
  const server = await startSlabcache(t);
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  let sent = 0;
  // one line, 1 MiB at a time, until the daemon hangs up (or we are well past the cap)
  await c.send(CHUNK);
  sent += CHUNK.length;
  while (!c.isClosed && sent < 24 * MiB) {
    try {
      await c.send(CHUNK.subarray(4));
    } catch {
      break; // EPIPE / ECONNRESET: closed under us
    }
    sent += CHUNK.length - 4;
  }
  const end = await c.untilClosed(10_000);
  t.true(end.closed, `the connection was closed (sent ${sent} bytes)`);
  t.is(end.bytes.length, 0, 'nothing was answered');
  t.true(sent > 16 * MiB, `not before 16 MiB (sent ${sent} bytes)`);
  t.true(server.exited() === null, 'the daemon runs on');
});
