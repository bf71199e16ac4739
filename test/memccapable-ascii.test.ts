/**
 * libmemcached's memccapable -a: its ascii protocol conformance suite, every test, against the
 * real daemon at each worker-thread count (the in-process run is in server-limits.test.ts).
 */
import { execFile } from 'node:child_process';
import { startSlabcache } from './helpers/memcached.js';
import { test } from './helpers/thread-variants.js';

test('memccapable -a passes every ascii test against the daemon', async (t) => {
  const server = await startSlabcache(t);
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile('memccapable', ['-h', '127.0.0.1', '-p', String(server.port), '-a', '-t', '5'], { timeout: 100_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr });
    });
  });
  const lines = out.split('\n').filter((l) => l.startsWith('ascii '));
  t.true(lines.length > 10, out);
  t.deepEqual(lines.filter((l) => !/\[pass\]/.test(l)), [], out);
  t.is(code, 0, out);
});
