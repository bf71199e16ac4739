/**
 * A real client, not ours: pymemcache (Debian's python3-pymemcache) runs the same
 * session against real memcached and against slabcache; every call must return
 * the same thing.
 */
import { test } from './helpers/thread-variants.js';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startMemcached, startSlabcache } from './helpers/memcached.js';

const run = promisify(execFile);
// Debian's interpreter: the one python3-pymemcache installs into
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'test', 'clients', 'pymemcache_session.py');

test('pymemcache gets the same answers from slabcache as from memcached', async (t) => {
  const [mc, sc] = await Promise.all([startMemcached(t), startSlabcache(t)]);
  const [want, got] = await Promise.all([
    run(PYTHON, [SCRIPT, String(mc.port)], { timeout: 60_000 }),
    run(PYTHON, [SCRIPT, String(sc.port)], { timeout: 60_000 }),
  ]);
  const calls = JSON.parse(got.stdout) as unknown[];
  t.true(calls.length > 30, 'the session ran to the end');
  t.deepEqual(calls, JSON.parse(want.stdout));
});
