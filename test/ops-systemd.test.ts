/**
 * The systemd units: `systemd-analyze verify` passes for each, and
 * `systemd-analyze security` rates the service "OK" or better (exposure <= 4.0).
 * Needs the Debian package systemd (systemd-analyze).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/memcached.js';

const run = promisify(execFile);
const unit = (name: string): string => path.join(REPO_ROOT, 'systemd', name);

test('systemd-analyze verify passes for every unit', async (t) => {
  // a template is verified through an instance of it, in a directory of its own
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const u of ['slabcache.service', 'slabcache.socket']) fs.copyFileSync(unit(u), path.join(dir, u));
  fs.copyFileSync(unit('slabcache@.service'), path.join(dir, 'slabcache@11212.service'));
  for (const u of ['slabcache.service', 'slabcache.socket', 'slabcache@11212.service']) {
    const r = await run('systemd-analyze', ['verify', path.join(dir, u)]).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    t.is(r.code, 0, `${u}: ${r.out}`);
    t.is(r.out.trim(), '', `${u}: no warnings`);
  }
});

for (const u of ['slabcache.service', 'slabcache@.service']) {
  test(`systemd-analyze security rates ${u} OK or better`, async (t) => {
    const r = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit(u)]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    const m = /Overall exposure level for \S+: (\d+\.\d+) (\S+)/.exec(r.stdout + r.stderr);
    t.truthy(m, r.stdout + r.stderr);
    t.true(Number(m![1]) <= 4.0, `exposure ${m![1]} ${m![2]}`);
    t.true(['OK', 'SAFE', 'PERFECT'].includes(m![2]), `rated ${m![2]}`);
  });
}

test('the service unit has the hardening and limits operators expect', (t) => {
  const s = fs.readFileSync(unit('slabcache.service'), 'utf8');
  for (const line of ['Type=simple', 'DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes',
    'Restart=on-failure', 'EnvironmentFile=-/etc/default/slabcache', 'MemoryMax=256M']) {
    t.true(s.split('\n').includes(line), line);
  }
  // MemoryMax must sit above the default file's -m (64 MB) with room for Node itself
  const opts = /^OPTIONS="([^"]*)"/m.exec(fs.readFileSync(unit('slabcache.default'), 'utf8'));
  const m = /-m (\d+)/.exec(opts?.[1] ?? '');
  t.truthy(m);
  t.true(Number(m![1]) + 128 <= 256, 'MemoryMax >= -m + 128M');
});
