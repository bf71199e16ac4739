/**
 * libmemcached's memccapable -b: its binary protocol conformance suite, every test,
 * against slabcache (and, as a control, against memcached with the same flags).
 */
import { test } from './helpers/thread-variants.js';
import { execFile } from 'node:child_process';
import { startMemcached, startSlabcache } from './helpers/memcached.js';

function memccapable(port: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('memccapable', ['-h', '127.0.0.1', '-p', String(port), '-b', '-t', '10'], { timeout: 100_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, out: stdout + stderr });
      });
  });
}

for (const side of ['memcached', 'slabcache'] as const) {
  test.serial(`memccapable -b passes every binary test against ${side}`, async (t) => {
    const server = side === 'memcached' ? await startMemcached(t) : await startSlabcache(t);
    const r = await memccapable(server.port);
    t.log(r.out.trim().split('\n').slice(-3).join('\n'));
    const lines = r.out.split('\n').filter((l) => l.startsWith('binary '));
    t.true(lines.length > 20, r.out);
    t.deepEqual(lines.filter((l) => !/\[pass\]/.test(l)), [], r.out);
    t.is(r.code, 0, r.out);
  });
}
