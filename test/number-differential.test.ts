/**
 * Every number a command line carries, against the real memcached 1.6.18: edge-case
 * numerals (signs, leading zeros, the 32- and 64-bit edges, trailing junk, control
 * bytes and NUL) in each numeric field of the text and meta commands, one number
 * module behind all of them. CAS values are masked, and TTLs reduced to live or past,
 * since the two clocks start at different rel_times.
 */
import { test } from './helpers/thread-variants.js';
import { maskVolatile, playBoth, type ScriptItem } from './helpers/differential.js';

const NUMBERS = [
  '0', '1', '-1', '+1', '-0', '+0', '01', '007', '0000000000000000000000000001',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296', '-4294967296',
  '9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '99999999999999999999', '2592000', '2592001',
  '1e3', '0x10', '1.5', 'abc', '1a', '-', '+', '1\u00002', '\u00001', '1\u0000', '\t1', '1\t', '1\u000b',
];

/** `{}` is the number; each case starts from the same `k` and `n`. */
const TEXT = [
  'set k {} 0 1\r\nx\r\nmg k f\r\n',
  'set k 0 {} 1\r\nx\r\nmg k t\r\n',
  'cas k 0 0 1 {}\r\nx\r\n',
  'incr n {}\r\n', 'decr n {}\r\n',
  'set v 0 0 {LEN}\r\n{}\r\nincr v 1\r\n',
  'touch k {}\r\nmg k t\r\n', 'gat {} k\r\n',
];
const META = [
  'mg k T{} t\r\n', 'mg k N{} t\r\n', 'mg missing N{} t v\r\n', 'mg k R{} t\r\n',
  'ms k 1 F{} T{}\r\nx\r\nmg k f t\r\n', 'ms k 1 C{}\r\nx\r\n', 'ms k 1 I{}\r\nx\r\n',
  'ma n D{} v\r\n', 'ma n MD D{} v\r\n', 'ma fresh N{} J{} v\r\n', 'ma n C{} v\r\n',
  'md k C{}\r\n', 'md k I T{}\r\nmg k t\r\n',
];
const ADMIN = [
  'verbosity {}\r\n', 'verbosity {} noreply\r\n',
  'flush_all {}\r\nmg k\r\nflush_all 0\r\n', 'cache_memlimit {}\r\ncache_memlimit 64\r\n',
  'slabs automove {}\r\n', 'lru_crawler sleep {}\r\n', 'lru_crawler tocrawl {}\r\n',
  'slabs reassign {} 2\r\n', 'lru tune {} 20 0.5 2\r\n',
];

const mask = (reply: string): string => maskVolatile(reply, { cas: true })
  .replace(/ t(\d+)/g, (_, d: string) => (Number(d) >= 2 ** 31 ? ' t<past>' : ' t<ttl>'));

for (const [name, cases] of [['text', TEXT], ['meta', META], ['admin', ADMIN]] as const) {
  test(`every edge-case number in the ${name} commands reads as memcached reads it`, async (t) => {
    const script: ScriptItem[] = [];
    for (const tpl of cases) {
      for (const x of NUMBERS) {
        script.push('set k 0 0 1\r\nx\r\nset n 0 0 1\r\n5\r\ndelete fresh\r\n');
        script.push(tpl.replace('{LEN}', String(x.length)).replaceAll('{}', x));
      }
    }
    await playBoth(t, script, { mask, compare: 'steps' });
  });
}
