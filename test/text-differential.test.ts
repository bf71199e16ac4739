/**
 * The classic text protocol against the real memcached 1.6.18: every command and
 * every error case, played to both servers, replies compared byte for byte (CAS
 * values and the version string masked).
 */
import { test } from './helpers/thread-variants.js';
import { playBoth, type ScriptItem } from './helpers/differential.js';

const K250 = 'k'.repeat(250);
const K251 = 'k'.repeat(251);
const opts = { mask: { cas: true }, args: ['-I', '2m'] };

test('storage commands, replies and errors, vs memcached', async (t) => {
  const script: ScriptItem[] = [
    'set a 0 0 1\r\nx\r\n', 'get a\r\n', 'gets a b\r\n', 'bget a\r\n',
    'set b 4294967295 0 2\r\nyz\r\n', 'get a b nope a\r\n',
    'add a 0 0 1\r\ny\r\n', 'add c 0 0 1\r\ny\r\n', 'replace zz 0 0 1\r\nx\r\n', 'replace c 7 0 2\r\nzz\r\n',
    'append c 0 0 2\r\n!!\r\n', 'prepend c 0 0 2\r\n<<\r\n', 'append zz 0 0 1\r\nx\r\n', 'prepend zz 0 0 1\r\nx\r\n',
    'get c\r\n', 'cas c 0 0 1 1\r\nq\r\n', 'cas zz 0 0 1 5\r\nx\r\n', 'cas c 0 0 1 abc\r\nx\r\n', 'cas c 0 0 1\r\n',
    'set a 0 0 1 noreply\r\nn\r\nget a\r\n', 'add a 0 0 1 noreply\r\nn\r\n', 'replace a 0 0 1 noreply\r\nr\r\nget a\r\n',
    'append a 0 0 1 noreply\r\n+\r\nprepend a 0 0 1 noreply\r\n-\r\nget a\r\n',
    'set a 4294967296 0 1\r\nx\r\nget a\r\n', 'set a +5 0 1\r\nx\r\nget a\r\n', 'set a -0 0 1\r\nx\r\n',
    'set a -1 0 1\r\nx\r\n', 'set a 5x 0 1\r\nx\r\n', 'set a 0 -1 1\r\nx\r\nget a\r\n',
    'set a 0 99999999999 1\r\nx\r\nget a\r\n', 'set a 0 4294967396 1\r\nx\r\nget a\r\n',
    'set a 0 0 -1\r\nx\r\n', 'set a 0 0 4294967297\r\nx\r\n', 'set a 0 0 01\r\nx\r\n', 'set a 0 0 1 \r\nx\r\n',
    '  set   a 0 0 1  \r\nx\r\n', 'set a 0 0 1\r\r\nx\r\n', 'set a\t0 0 1\r\nx\r\n', 'set a 0 0 1\nx\r\nget a\n',
    'set a 1 0 1\r\nxyz\r\nget a\r\n', 'set a 0 0 1 noreply\r\nxx\r\n', 'set a 0 0\r\n', 'set a 0 0 1 2 3\r\n',
    `set a 0 0 1${' x'.repeat(25)}\r\n`, `set ${K250} 0 0 1\r\nx\r\nget ${K250}\r\n`, `set ${K251} 0 0 1\r\nx\r\n`,
    `set ${K251} 0 0 1 noreply\r\nx\r\n`, 'set big 0 0 1\r\nA\r\n',
    `add big 0 0 ${3 << 20}\r\n${'x'.repeat(3 << 20)}\r\nget big\r\n`,
    `set big 0 0 ${3 << 20}\r\n${'x'.repeat(3 << 20)}zzget big\r\n`,
    `set big 0 0 ${3 << 20} noreply\r\n${'x'.repeat(3 << 20)}\r\n`,
  ];
  await playBoth(t, script, opts);
});

test('retrieval, arithmetic, touch, delete, admin, vs memcached', async (t) => {
  const script: ScriptItem[] = [
    'get\r\n', 'gets\r\n', 'get a\u0000 b\r\n', `get a ${K251} b\r\n`, `get ${K251}\r\n`,
    'set n 0 0 1\r\n5\r\n', 'incr n 1\r\n', 'decr n 10\r\n', 'incr n 18446744073709551615\r\n', 'incr n 1\r\n',
    'incr n -1\r\n', 'incr n abc\r\n', 'incr n 18446744073709551616\r\n', 'incr nope 1\r\n', 'decr nope 1\r\n',
    'set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\n', 'incr n 1 noreply\r\nget n\r\n', 'incr n 1 x\r\n',
    'set n 0 0 3\r\n 12\r\nincr n 1\r\n', 'set n 0 0 3\r\n12a\r\nincr n 1\r\n', 'set n 0 0 3\r\n-12\r\nincr n 1\r\n',
    'set n 0 0 0\r\n\r\nincr n 1\r\n', `incr ${K251} 1\r\n`, 'incr\r\n', 'incr n\r\n', 'decr n 1 2 3\r\n',
    'set t 0 0 1\r\nx\r\n', 'touch t 10\r\n', 'touch nope 10\r\n', 'touch t abc\r\n', 'touch t\r\n',
    'touch t 10 noreply\r\ntouch t 10 x\r\n', `touch ${K251} 1\r\n`,
    'gat 10 t nope\r\n', 'gats 10 t\r\n', 'gat abc t\r\n', 'gat 10\r\n', 'gat -1 t\r\nget t\r\n',
    'set d 0 0 1\r\nx\r\n', 'delete d 0\r\n', 'delete d\r\n', 'delete d 1\r\n', 'delete d x y\r\n',
    'delete d 0 noreply\r\n', 'delete d noreply\r\n', `delete ${K251}\r\n`, 'delete\r\n',
    'flush_all\r\n', 'flush_all 0\r\n', 'flush_all noreply\r\n', 'flush_all 10 noreply\r\n', 'flush_all abc\r\n',
    'flush_all -1\r\n', 'flush_all 1 2\r\n', 'flush_all 1 2 3\r\n', 'flush_all 0\r\n',
    'verbosity\r\n', 'verbosity 1\r\n', 'verbosity abc\r\n', 'verbosity 1 noreply\r\n', 'verbosity 1 2\r\n',
    'verbosity 1 2 3\r\n', 'verbosity noreply\r\n', 'verbosity 0\r\n',
    'cache_memlimit\r\n', 'cache_memlimit 100\r\n', 'cache_memlimit 2\r\n', 'cache_memlimit abc\r\n',
    'cache_memlimit 2000000000\r\n', 'cache_memlimit 100 noreply\r\n',
    'version\r\n', 'version x y\r\n', 'shutdown\r\n', 'shutdown graceful\r\n',
    '\r\n', '\n', 'x\r\n', 'GET a\r\n', 'bogus command\r\n', 'stats foo\r\n', 'stats detail\r\n',
    'slabs\r\n', 'lru_crawler\r\n', 'refresh_certs\r\n', 'refresh_certs noreply\r\n',
    { send: 'quit\r\nget a\r\n', until: 'close' },
  ];
  await playBoth(t, script, opts);
});

test('connection-closing inputs, vs memcached', async (t) => {
  for (const send of [
    'GET / HTTP/1.1\r\n', 'x'.repeat(3000), 'version\r\n' + 'x'.repeat(2049), ' '.repeat(101) + 'get ' + 'a'.repeat(3000),
    'gat 1 ' + 'a'.repeat(3000), 'set ' + 'a'.repeat(3000),
  ]) {
    await playBoth(t, [{ send, until: 'close' }], opts);
  }
  await playBoth(t, [{ send: 'get ' + 'a '.repeat(2000), until: 'none' }, 'b\r\n', { send: 'x'.repeat(2048), until: 'none' }, '\r\n'], opts);
});

test('-C (no CAS): gets and cas, vs memcached', async (t) => {
  await playBoth(t, [
    'set a 0 0 1\r\nx\r\n', 'gets a\r\n', 'cas a 0 0 1 0\r\ny\r\n', 'cas a 0 0 1 1\r\ny\r\n', 'gets a\r\n',
    'incr a 1\r\n', 'set n 0 0 1\r\n1\r\nincr n 1\r\ngets n\r\n',
  ], { args: ['-C'] });
});

test('-M with a tiny -m: out of memory replies, vs memcached', async (t) => {
  const v = 'v'.repeat(400 * 1024);
  const script: ScriptItem[] = [];
  for (let i = 0; i < 12; i++) script.push(`set k${i} 0 0 ${v.length}\r\n${v}\r\n`);
  script.push('get k0\r\n', 'incr k0 1\r\n');
  await playBoth(t, script, { args: ['-M', '-m', '2'] });
});

test('values arriving in pieces, good and bad endings, pipelined after errors, vs memcached', async (t) => {
  const n = 300 * 1024;
  const half = 'h'.repeat(n / 2);
  await playBoth(t, [
    { send: `set big 0 0 ${n}\r\n${half}`, until: 'none' }, { send: half, until: 'none' }, '\r\nget nope\r\n',
    { send: 'get big\r\n', until: 'END\r\n' },
    { send: `set big 0 0 ${n}\r\n${half}`, until: 'none' }, `${half}XYget big\r\n`,
    { send: `set s 0 0 3\r\na`, until: 'none' }, { send: 'b', until: 'none' }, { send: 'c\r', until: 'none' }, '\nget s\r\n',
    `set t 0 0 ${3 << 20}\r\n${'t'.repeat(3 << 20)}\r\nset u 0 0 1\r\nu\r\nget t u\r\n`,
    `set v 0 0 -5\r\nvvvvv\r\nget v\r\n`,
  ], { ...opts, until: 'sentinel' });
});
