/**
 * bin/slabcache.js as a user runs it: what it prints and how it exits.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import { MEMCACHED_BIN, REPO_ROOT, SLABCACHE_BIN } from './helpers/memcached.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function slabcache(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLABCACHE_BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('-V and --version print our version and exit 0', async (t) => {
  for (const flag of ['-V', '--version']) {
    const r = await slabcache([flag]);
    t.is(r.code, 0);
    t.is(r.stdout, `slabcache ${version}\n`);
    t.is(r.stderr, '');
  }
});

test('-h and --help explain the flags and exit 0', async (t) => {
  for (const flag of ['-h', '--help']) {
    const r = await slabcache([flag]);
    t.is(r.code, 0);
    t.true(r.stdout.includes('-m, --memory-limit=<num>'));
    t.true(r.stdout.includes('- slab_chunk_max=<bytes>'));
    t.is(r.stderr, '');
  }
});

test('-i prints the license and exits 0', async (t) => {
  const r = await slabcache(['-i']);
  t.is(r.code, 0);
  t.regex(r.stdout, /BSD 3-Clause/);
});

test('a bad flag: one line on stderr naming it, memcached\'s exit status, nothing started', async (t) => {
  for (const [args, line, code] of [
    [['-I', '2g'], '-I/--max-item-size "2g": give bytes with an optional k or m suffix, e.g. -I 2m (min 1k, max 1024m)\n', 64],
    [['-p', '70000'], '-p/--port "70000": Invalid port number 70000.\n', 64],
    [['-o', 'bogus'], '-o/--extended "bogus": Illegal suboption "bogus" (see --help for the -o keys)\n', 1],
    [['-f', '1'], '-f/--slab-growth-factor "1": Factor must be greater than 1\n', 1],
  ] as const) {
    const r = await slabcache([...args]);
    t.is(r.code, code, args.join(' '));
    t.is(r.stderr, line);
    t.is(r.stdout, '');
  }
});

test('a port it cannot listen on: memcached\'s exit status 71 (EX_OSERR), TCP and UDP', async (t) => {
  const tcp = net.createServer();
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  t.teardown(() => tcp.close());
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.teardown(() => udp.close());
  const root = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  for (const args of [['-p', String((tcp.address() as net.AddressInfo).port)], ['-p', '0', '-U', String(udp.address().port)]]) {
    const r = await slabcache([...root, '-l', '127.0.0.1', ...args]);
    t.is(r.code, 71, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, 'one line');
    const mc = await new Promise<number | null>((resolve) => {
      const child = execFile(MEMCACHED_BIN, [...root, '-l', '127.0.0.1', ...args], { timeout: 20_000 }, () => resolve(child.exitCode));
    });
    t.is(mc, 71, `memcached ${args.join(' ')}`);
  }
});

test('as root, -u is required (memcached\'s rule), and the user must exist', async (t) => {
  if (process.getuid?.() !== 0) {
    t.pass('not root');
    return;
  }
  const none = await slabcache(['-p', '0']);
  t.is(none.code, 64);
  t.is(none.stderr, "can't run as root without the -u switch\n");
  const bad = await slabcache(['-u', 'no-such-user-slabcache']);
  t.is(bad.code, 67);
  t.is(bad.stderr, "can't find the user no-such-user-slabcache to switch to\n");
});
