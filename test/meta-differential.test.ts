/**
 * Meta commands, differential: every script is played to real memcached 1.6.18
 * and to slabcache, and the transcripts must match byte for byte. Masked: TTLs
 * and last-access seconds (memcached's clock ticks on its own, so `t100` may read
 * `t99` there), and `me`'s la/cls/size (slab classes are this engine's own).
 * CAS values are not masked: both number them 1, 2, 3... the same way here.
 *
 * Serial: each test starts its own pair of fresh daemons, and a dozen node
 * daemons starting at once on a busy machine can miss the start-up deadline.
 */
import type { ExecutionContext } from 'ava';
import { test } from './helpers/thread-variants.js';
import { maskVolatile, playBoth, type MaskOptions, type PlayOptions, type ScriptItem } from './helpers/differential.js';
import { startMemcached, startSlabcache } from './helpers/memcached.js';

const mask: MaskOptions = {
  replace: [
    [/ t(\d+)/g, ' t<ttl>'],
    [/ l(\d+)/g, ' l<la>'],
    [/ la=\d+/g, ' la=<la>'],
    [/ exp=-?\d+/g, (' exp=<exp>')],
    [/ cls=\d+ size=\d+/g, ' cls=<cls> size=<size>'],
  ],
};

/** Both servers fresh, each a real daemon on a loopback port from the OS. */
async function servers(t: ExecutionContext): Promise<PlayOptions['servers']> {
  const [memcached, slabcache] = await Promise.all([startMemcached(t), startSlabcache(t)]);
  return { memcached, slabcache };
}

/**
 * A step with `mn` of its own ends with MN already; memcached flushes at each mn,
 * so a sentinel MN could be mistaken for the step's. Such steps are read up to
 * their own last MN instead.
 */
function ownMn(item: ScriptItem): ScriptItem {
  if (typeof item !== 'string') return item;
  const n = item.match(/^mn(?: [^\n]*)?\r?\n/gm)?.length ?? 0;
  if (n === 0) return item;
  return { send: item, until: new RegExp(`^(?:[^]*?(?<=^|\\n)MN\\r\\n){${n}}$`) };
}

async function same(t: ExecutionContext, script: ScriptItem[], opts: PlayOptions = {}): Promise<void> {
  await playBoth(t, script.map(ownMn), { servers: await servers(t), mask, ...opts });
}

const long = (c: string, n: number): string => c.repeat(n);

test.serial('mg: hits, misses, every returned flag, quiet and opaque', async (t) => {
  await same(t, [
    'mg foo v\r\n',
    'mg foo\r\n',
    'ms foo 2\r\nhi\r\n',
    'mg foo v\r\n',
    'mg foo\r\n',
    'mg foo s v f t c k h l O123\r\n',
    'mg foo v s f t c\r\n', // the PHP/pymemcache-style fetch
    'mg foo k q\r\n',
    'mg foo v q\r\n',
    'mg foo q\r\n',
    'mg miss k O1 q\r\n',
    'mg miss k O1\r\n',
    'mg miss v s f t c\r\n',
    'mg foo O\r\n',
    'mg foo vxyz kk\r\n',
    'mg foo u v h\r\n',
    'mg foo h\r\n',
    'mg  foo   v  \r\n',
    'mg foo\tv\r\n',
    'mg foo v\n',
    `mg foo O${long('9', 31)}\r\n`,
    'mg foo P L v\r\n',
  ]);
});

test.serial('mg: TTLs, touch with T, client flags', async (t) => {
  await same(t, [
    'ms f1 3 F4294967295 T100\r\nabc\r\n',
    'mg f1 f t v\r\n',
    'mg f1 T0 t\r\n',
    'mg f1 t T50 t\r\n',
    'ms f2 1 F4294967296\r\nx\r\n',
    'mg f2 f\r\n',
    'ms f3 1 T-1\r\nx\r\n',
    'mg f3 v\r\n',
    'mg f1 T-1\r\n',
    'mg f1 v\r\n',
  ]);
});

test.serial('mg: errors', async (t) => {
  await same(t, [
    'ms foo 2\r\nhi\r\n',
    'mg\r\n',
    'mg \r\n',
    `mg ${long('a', 251)} v\r\n`,
    `mg ${long('a', 250)} v\r\n`,
    'mg foo v v\r\n',
    'mg foo Z\r\n',
    'mg foo T\r\n',
    'mg foo Tx\r\n',
    'mg foo T5x\r\n',
    'mg foo T 5\r\n',
    'mg foo N\r\n',
    'mg foo Rx\r\n',
    'mg foo Fq\r\n',
    'mg foo Tx Fq\r\n',
    'mg foo Tx Z\r\n',
    'mg foo x\r\n',
    'mg foo \x80\r\n',
    `mg foo O${long('9', 32)}\r\n`,
    `mg miss O${long('9', 32)}\r\n`,
    `mg miss q O${long('9', 32)}\r\n`,
    'mg foo v s f t c k h l O1 q u P L R5 T5 N5\r\n',
    'mg foo v s f t c k h l O1 q u P L R5 T5 N5 Z\r\n',
    'mg foo v s f t c k h l O1 q u P L R5 T5 N5 Z Y\r\n',
    `mg foo ${Array.from({ length: 30 }, (_, i) => `O${i}`).join(' ')}\r\n`,
    'mg foo v\r\n',
  ]);
});

test.serial('ms: modes, CAS, quiet, returned flags', async (t) => {
  await same(t, [
    'ms k1 3 T0 F5 c k O9\r\nabc\r\n',
    'ms k1 3 q\r\nabd\r\n',
    'ms k1 3 q MA\r\nabc\r\n',
    'mg k1 v f c\r\n',
    'ms k9 3 q MA\r\nabc\r\n',
    'ms k9 3 q MP\r\nabc\r\n',
    'ms k9 3 q MR\r\nabc\r\n',
    'ms k9 3 ME k c\r\nabc\r\n',
    'ms k9 3 ME k c\r\nxyz\r\n',
    'ms k9 1 MP\r\n<\r\n',
    'ms k9 1 MA c\r\n>\r\n',
    'mg k9 v c\r\n',
    'ms k9 1 MS\r\n=\r\n',
    'ms k9 1 MR c\r\n+\r\n',
    'mg k9 v c\r\n',
    'ms k9 1 C1 c\r\nx\r\n',
    'ms k9 1 C12 c q\r\ny\r\n',
    'mg k9 v c\r\n',
    'ms k9 1 C13 MR c\r\nz\r\n',
    'ms k9 1 C0\r\nz\r\n',
    'ms nope 1 C5\r\nz\r\n',
    'ms k9 1 C99 MA\r\n!\r\n',
    'ms k9 1 C14 MA c\r\n!\r\n',
    'ms k9 1 C1 ME\r\n!\r\n',
    'mg k9 v c\r\n',
    'ms k9 1 S1 s\r\nx\r\n',
    'ms empty 0\r\n\r\n',
    'mg empty v s\r\n',
    'ms k9 1 MS I\r\nw\r\n',
    'mg k9 v\r\n',
  ]);
});

test.serial('ms: errors consume exactly what memcached consumes', async (t) => {
  await same(t, [
    'ms\r\n',
    'ms foo\r\n',
    'ms foo \r\n',
    `ms ${long('k', 251)} 1\r\nx\r\n`,
    'ms x1 3\r\nabcd\r\n',
    'mg x1 v\r\n',
    'ms x1 3 q\r\nabcd\r\n',
    'ms x1 3\r\nab\r\n\r\n',
    'ms x1 -1\r\nabc\r\n',
    'ms x1 abc\r\nabc\r\n',
    'ms x1 3x\r\nabc\r\n',
    'ms x1 +3\r\nabc\r\n',
    'ms x1 3 Z\r\nabc\r\n',
    'ms x1 3 T5 T6\r\nabc\r\n',
    'ms x1 3 Fabc\r\nabc\r\n',
    'ms x1 3 Cabc\r\nabc\r\n',
    'ms x1 3 Tx\r\nabc\r\n',
    'ms x1 3 MX\r\nabc\r\n',
    'ms x1 3 Mxx\r\nabc\r\n',
    'ms x1 3 M\r\nabc\r\n',
    `ms x1 3 O${long('1', 32)}\r\nabc\r\n`,
    `ms x1 3 O${long('1', 32)} MX\r\nabc\r\n`,
    'ms x1 3 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\nabc\r\n',
    'ms x1 3 k c O1 q T100 F1 I MS v f t h l u P L\r\nabc\r\n',
    'ms x1 3 b\r\nabc\r\n',
    'ms x1 3 S3\r\nabc\r\n',
    'ms x1 3 x\r\nabc\r\n',
    // lengths and TTLs are C longs stored into an int32, as in 1.6.18
    'ms x1 4294967299\r\nabc\r\n',
    'mg x1 v T4294967396 t\r\n',
    'mg x1 N-4294967196 t\r\n',
    'ms x2 2147483648\r\n',
    'ms x2 99999999999999999999\r\n',
    'ms x2 1 F4294967297\r\nf\r\nmg x2 f\r\n',
    'ms x2 1 F-1\r\nf\r\n',
    'ms x1 2147483646\r\n',
    'ms x1 2147483647\r\nabc\r\n',
    'mg x1 v\r\n',
  ]);
});

test.serial('ms: binary-safe values, large values, pipelined and split', async (t) => {
  const bin = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) bin[i] = i;
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const huge = Buffer.alloc(2 * 1024 * 1024, 0x41);
  await same(t, [
    Buffer.concat([Buffer.from('ms bin 256 F3\r\n'), bin, Buffer.from('\r\n')]),
    'mg bin v s f\r\n',
    'ms crlf 6\r\n\r\n\r\n\r\n\r\n',
    'mg crlf v\r\n',
    Buffer.concat([Buffer.from('ms big 300000 c\r\n'), big, Buffer.from('\r\n')]),
    'mg big s c\r\n',
    'mg big v\r\n',
    Buffer.concat([Buffer.from('ms huge 2097152\r\n'), huge, Buffer.from('\r\n')]),
    'mg huge v\r\n',
    'ms p1 1\r\na\r\nms p2 1 q\r\nb\r\nmg p1 v\r\nmg p2 v k\r\nmd p1\r\nmg p1 v\r\n',
    { send: 'ms sp 5 c\r\nhe', until: 'none' },
    { send: 'l', until: 'none' },
    { send: 'lo\r', until: 'none' },
    '\nmg sp v\r\n',
    { send: 'mg s', until: 'none' },
    'p s\r\n',
  ]);
});

test.serial('quiet batches end with mn', async (t) => {
  await same(t, [
    'ms a 1\r\n1\r\nms b 1\r\n2\r\n',
    'mg a v q k\r\nmg x v q k\r\nmg b v q k\r\nmg y v q k\r\nmn\r\n',
    'ms a 1 q\r\n1\r\nms b 1 q ME\r\n2\r\nms c 1 q MR\r\n3\r\nmn\r\n',
    'md a q\r\nmd a q\r\nmd b q C1\r\nmn\r\n',
    'ma n q\r\nma n q N0 J7\r\nma n q\r\nma n q v\r\nmg n v\r\nmn\r\n',
    'mn\r\nmn foo bar\r\n',
  ]);
});

test.serial('md: delete, CAS, invalidate, quiet, errors', async (t) => {
  await same(t, [
    'ms d1 2 F7 T100\r\nhi\r\n',
    'md d1 q k O1 C1\r\n',
    'md d1 I q\r\n',
    'mg d1 v f c\r\n',
    'md d1 I T0\r\n',
    'mg d1 t v f c\r\n',
    'mg d1 t v f c\r\n',
    'md d1 T5\r\n',
    'mg d1 t\r\n',
    'md d1\r\n',
    'md d1 k O2 q\r\n',
    'md d1 k O2\r\n',
    'ms d2 1\r\nx\r\n',
    'md d2 C4 k\r\n',
    'mg d2 v\r\n',
    'md\r\n',
    'md \r\n',
    `md ${long('d', 251)}\r\n`,
    'md d1 Z\r\n',
    'md d1 q q\r\n',
    'md d1 Cx\r\n',
    'md d2 MX\r\n',
    'md d2 I k b\r\n',
    `md d2 O${long('1', 32)}\r\n`,
    'md d2 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n',
  ]);
});

test.serial('ma: incr, decr, vivify, CAS, TTL, errors', async (t) => {
  await same(t, [
    'ma c1 q\r\n',
    'ma c1 N0 J10 q v\r\n',
    'ma c1 q v\r\n',
    'ma c1 v t c k O5 T0\r\n',
    'ma c1 v D5 MD\r\n',
    'ma c1 v D50 M-\r\n',
    'ma c1 v D50 M+\r\n',
    'ma c1 MI\r\n',
    'ma c1\r\n',
    'mg c1 v\r\n',
    'ma c1 MD D40\r\n',
    'mg c1 v s\r\n',
    'ma c1 v D18446744073709551615\r\n',
    'ma c1 v D18446744073709551616\r\n',
    'ma c1 MX\r\n',
    'ma c1 MII\r\n',
    'ma c1 Dabc\r\n',
    'ma c1 D-1\r\n',
    'ma c1 J-1\r\n',
    'ma c1 x\r\n',
    'ma c1 C1\r\n',
    'ma c1 C999999 q\r\n',
    'mg c1 c\r\n',
    'ms nn 2\r\nab\r\n',
    'ma nn\r\n',
    'ma nn q\r\n',
    'ma nn C1\r\n',
    'ms big 20\r\n18446744073709551615\r\n',
    'ma big v\r\n',
    'ma big v MD D5\r\n',
    'ma c1 N-1 t\r\n',
    'ma c2 N100 t T5 v k O1\r\n',
    'ma c2 t\r\n',
    'ma miss k O3 v\r\n',
    'ma\r\n',
    `ma ${long('c', 251)}\r\n`,
    `ma c1 O${long('1', 32)}\r\n`,
    'mg c1 v\r\n',
  ]);
});

test.serial('me: debug lines, base64, errors; mn', async (t) => {
  await same(t, [
    'ms foo 2 T100\r\nhi\r\n',
    'ms bar 2\r\nhi\r\n',
    'mg bar v\r\n',
    'me foo\r\n',
    'me bar\r\n',
    'me miss\r\n',
    'me\r\n',
    'me \r\n',
    'me foo b\r\n',
    'me foo x y z\r\n',
    `me ${long('f', 251)}\r\n`,
    'ms Zm9vYmFy 3 b\r\nabc\r\n',
    'me Zm9vYmFy b\r\n',
    'me foobar\r\n',
    'mn\r\n',
    'mn x y z\r\n',
    'mx foo\r\n',
  ]);
});

test.serial('base64 keys', async (t) => {
  const binKey = Buffer.alloc(180);
  for (let i = 0; i < binKey.length; i++) binKey[i] = (i * 31 + 7) & 0xff;
  const b64 = binKey.toString('base64');
  await same(t, [
    'ms Zm9vYmFy 3 b k c\r\nabc\r\n',
    'mg Zm9vYmFy b k v\r\n',
    'mg foobar k v\r\n',
    'mg Zm9v!mFyYQ== b k v\r\n',
    'mg Zm9vYmFy!! b k v\r\n',
    'mg Zm8=Zm8= b k\r\n',
    'mg AA== b k\r\n',
    'mg A=== b k\r\n',
    'mg Zm9vYm b k\r\n',
    'mg Zm9vYmE b k\r\n',
    'md Zm9vYmFy b k q\r\n',
    'mg Zm9vYmFy b k q\r\n',
    'md Zm9vYmFy b k\r\n',
    'ma Zm9vYmFy b k N0 J5 v\r\n',
    'mg foobar k v\r\n',
    `ms ${b64} 2 b k\r\nok\r\n`,
    `mg ${b64} b k v s\r\n`,
    `md ${b64} b k\r\n`,
    'ms Zm9v 1 b\r\nx\r\n',
    'ms foo 1 k\r\ny\r\n',
    'mg foo k v\r\n',
    'mg Zm9v b k v\r\n',
  ]);
});

test.serial('stale-while-revalidate: invalidation, W/X/Z, recache R, vivify N', async (t) => {
  await same(t, [
    'ms s1 2 T100\r\nhi\r\n',
    'mg s1 c\r\n',
    'md s1 I T30 q\r\n',
    'mg s1 c t v\r\n',
    'mg s1 c t v\r\n',
    'mg s1 v\r\n',
    'ms s1 3 C999 c\r\nnew\r\n',
    'ms s1 3 I C1 c\r\nnew\r\n',
    'mg s1 c t v\r\n',
    'ms s1 3 C100 c\r\nnew\r\n',
    'ms s1 3 C5 c\r\nfresh\r\n',
    'ms s1 5 C5 c\r\nfresh\r\n',
    'mg s1 c v\r\n',
    'md s1 I\r\n',
    'ms s1 3 I C7 MA c\r\nnew\r\n',
    'ms s1 5 I C8 c\r\nfresh\r\n',
    'mg s1 c v\r\n',
    'ms r 2 T10\r\nhi\r\n',
    'mg r R30 v c\r\n',
    'mg r R30 v\r\n',
    'mg r R5 v\r\n',
    'ms r2 2\r\nhi\r\n',
    'mg r2 R30 v\r\n',
    'mg v1 N30 v c t s\r\n',
    'mg v1 N30 v\r\n',
    'mg v1 v\r\n',
    'ms v1 2 T100\r\nok\r\n',
    'mg v1 N30 v\r\n',
    'mg v2 N30 T60 t\r\n',
    'mg v3 T60 N30 t q\r\n',
    'mg v4 N30 q\r\n',
    'mg v4 N30 q\r\n',
    'md v4 q I\r\n',
    'mg v4 q k\r\n',
    'mg v4 q k\r\n',
  ]);
});

test.serial('flag combinations real clients send', async (t) => {
  await same(t, [
    // a set as meta clients write it: TTL, client flags, and the CAS back
    'ms user:1 5 T60 F16 c\r\nalice\r\n',
    // the classic get with everything a client decodes values with
    'mg user:1 s v f t c\r\n',
    'mg user:1 t v f c\r\n',
    'mg user:2 t v f c\r\n',
    // a multi-get: quiet gets tagged by key and opaque, ended by mn
    'mg user:1 v f c k O1 q\r\nmg user:2 v f c k O2 q\r\nmg user:3 v f c k O3 q\r\nmn\r\n',
    // base64 keys for binary or long keys
    'ms dXNlcjox 3 b T60 F2\r\nbob\r\nmg dXNlcjox b t v f c k\r\n',
    // anti-dogpiling: recache early, vivify on miss, then store with the CAS and I
    'mg user:1 t v f c R30 N30\r\n',
    'mg hot t v f c R30 N30\r\n',
    'mg hot t v f c R30 N30\r\n',
    'ms hot 4 T60 F0 C2 I\r\nwarm\r\n',
    'mg hot t v f c R30 N30\r\n',
    // invalidate instead of delete; touch on get; counters
    'md user:1 I T30 q\r\nmg user:1 t v c\r\nmg user:1 T90 t v\r\n',
    'ma views N0 J0 D1 v\r\nma views D1 v\r\nma views MD D5 v\r\n',
    'md user:1 q\r\nmd user:1\r\nmn\r\n',
  ]);
});

test.serial('meta and classic commands mix on one connection, pipelined', async (t) => {
  await same(t, [
    'set a 5 0 3\r\nabc\r\nmg a v f c\r\ngets a\r\n',
    'ms b 2 F9\r\nhi\r\nget a b\r\ngets b\r\n',
    'append a 0 0 2\r\nde\r\nmg a v s c\r\n',
    'cas a 0 0 1 3\r\nx\r\nmg a v c\r\n',
    'ms a 1 C4 c\r\ny\r\ngets a\r\n',
    'incr n 1\r\nma n N0 J41 v\r\nincr n 1\r\nma n v c\r\ndecr n 50\r\nmg n v\r\n',
    'touch a 100\r\nmg a t\r\ngat 200 a\r\nmg a t v\r\n',
    'md a I\r\nget a\r\nmg a v\r\ndelete a\r\nmg a v\r\n',
    'mg a v N30\r\nget a\r\nset a 0 0 1\r\nz\r\nmg a v\r\n',
    'mg b v q\r\ndelete b noreply\r\nmg b v q\r\nget b\r\nmn\r\n',
    'flush_all\r\nmg n v\r\nma n\r\nms c 1\r\nc\r\nmg c v\r\n',
    'version\r\nmn\r\nverbosity 1\r\nmn\r\n',
  ], { mask: { ...mask, cas: true } });
});

test.serial('stats after meta commands match memcached', async (t) => {
  const names = ['cmd_get', 'cmd_set', 'cmd_touch', 'cmd_meta', 'get_hits', 'get_misses', 'get_expired',
    'get_flushed', 'delete_misses', 'delete_hits', 'incr_misses', 'incr_hits', 'decr_misses', 'decr_hits',
    'cas_misses', 'cas_hits', 'cas_badval', 'touch_hits', 'touch_misses', 'store_too_large', 'curr_items',
    'total_items'];
  const keep = new RegExp(`^STAT (${names.join('|')}) \\d+\\r\\n`);
  const onlyCounters = (reply: string): string =>
    reply.startsWith('STAT ') ? reply.split(/(?<=\n)/).filter((l) => keep.test(l)).join('') : reply;
  await same(t, [
    'mg a v\r\nms a 1\r\n1\r\nmg a v\r\nmg a T10\r\nmg b T10\r\nmd a\r\nmd a\r\n',
    'ma a\r\nma a N0\r\nma a MD\r\nma a C1\r\nme a\r\nme zz\r\n',
    'ms a 1 C1\r\n1\r\nms a 1 C99 I\r\n1\r\nms b 1 MA\r\n1\r\nms a 1 ME\r\n1\r\nmg zz N30 v\r\n',
    'ms c 1 C5\r\nx\r\nmd c\r\nmd a C1\r\nmd a I\r\nmg a v\r\nms bad 1\r\nxx\r\n',
    'ms t 1 T-1\r\nx\r\nmg t v\r\nms big 2000000\r\n' + 'x'.repeat(2_000_000) + '\r\n',
    'ms v 2\r\nab\r\nma v\r\nma nf MD\r\nmg a v\r\n',
    { send: 'stats\r\n', until: 'END\r\n' },
  ], { mask: (r) => onlyCounters(maskVolatile(r, mask)) });
});

test.serial('an ms rejected from its line has its block swallowed, however it arrives', async (t) => {
  const block = 'z'.repeat(3_000_000);
  await same(t, [
    'ms k 1\r\nv\r\n',
    { send: 'ms k 3000000 Z\r\n', until: 'none' },
    { send: block.slice(0, 1_000_000), until: 'none' },
    block.slice(1_000_000) + '\r\nmg k v\r\n',
    { send: 'ms k 3000000 T0\r\n', until: 'none' },
    block + '\r\nmg k v\r\n',
    { send: 'ms k 10 Mx\r\n01234', until: 'none' },
    '56789\r\nmg k v\r\n',
  ]);
});
