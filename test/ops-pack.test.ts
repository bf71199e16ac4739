/**
 * `npm pack` makes a tarball that installs globally into a clean prefix, and the
 * installed `slabcache --help` runs. The install uses a cache of its own, made
 * empty for the test, so it behaves as on a new machine: the dependencies come
 * from the registry, as they do for `npm ci`, and never from whatever a
 * machine's npm cache happens to hold.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/memcached.js';

const run = promisify(execFile);

test('npm pack installs globally into a clean prefix and `slabcache --help` runs', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-pack-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: dist/ is already built by `npm test`; rebuilding it here would
  // rewrite files other test workers are loading
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const tarball = path.join(dir, info.filename);
  t.true(fs.existsSync(tarball));
  const files = info.files.map((f) => f.path);
  for (const f of ['bin/slabcache.js', 'dist/src/cli/main.js', 'dist/src/server/process.js', 'systemd/slabcache.service', 'systemd/slabcache.socket', 'systemd/slabcache@.service', 'systemd/slabcache.default']) {
    t.true(files.includes(f), `tarball has ${f}`);
  }
  t.false(files.some((f) => f.startsWith('dist/test/') || f.startsWith('src/')), 'no tests or TypeScript sources');

  const prefix = path.join(dir, 'prefix');
  const cache = path.join(dir, 'npm-cache');
  await run('npm', ['install', '-g', '--no-audit', '--no-fund', '--cache', cache, '--prefix', prefix, tarball], { cwd: dir });
  const bin = path.join(prefix, 'bin', 'slabcache');
  t.true(fs.existsSync(bin), 'slabcache is on the prefix PATH');
  const help = await run(bin, ['--help'], { cwd: dir, env: { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` } });
  t.regex(help.stdout, /^slabcache \d+\.\d+\.\d+/);
  t.regex(help.stdout, /-p, --port=<num>/);
});
