/**
 * The number module against memcached's safe_strto* rules (util.c): what each
 * parser returns for the edge cases a request or an item value can hold.
 */
import test from 'ava';
import {
  NOT_INT32, NOT_U64, putDecimal, safeStrtoull, strtol32, strtolStr, strtoul32, strtoulStr,
  strtoullNum, strtoullU64,
} from '../src/cache/numeric.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const l32 = (s: string): number => strtol32(bytes(s), 0, s.length);
const ul32 = (s: string): number => strtoul32(bytes(s), 0, s.length);
const ull = (s: string): number => strtoullNum(bytes(s), 0, s.length);

test('safe_strtol into an int32: truncated as C assigns, ERANGE and junk refused', (t) => {
  t.is(l32('0'), 0);
  t.is(l32('-30'), -30);
  t.is(l32('+7'), 7);
  t.is(l32(' \t12'), 12); // strtol skips leading isspace
  t.is(l32('4294967396'), 100);
  t.is(l32('99999999999'), 1215752191);
  t.is(l32('9223372036854775807'), -1); // LONG_MAX, then truncated
  t.is(l32('9223372036854775808'), NOT_INT32); // ERANGE
  t.is(l32('-9223372036854775808'), 0);
  t.is(l32('-9223372036854775809'), NOT_INT32);
  for (const bad of ['', '-', 'x', '12x', '1.5', '0x10', '99999999999999999x']) t.is(l32(bad), NOT_INT32, bad);
});

test('safe_strtoul into a uint32: a minus sign refused unless the value is 0', (t) => {
  t.is(ul32('4294967295'), 4294967295);
  t.is(ul32('4294967296'), 0);
  t.is(ul32('-0'), 0);
  t.is(ul32('-5'), -1);
  t.is(ul32('-18446744073709551615'), 1); // 2^64 - that: not negative as a long
  t.is(ul32('18446744073709551615'), 4294967295);
  t.is(ul32('18446744073709551616'), -1);
  t.is(ul32('7\t'), 7); // whitespace may follow the digits
  t.is(ul32('7a'), -1);
  t.is(ul32('99999999999999999x'), -1);
  t.is(ull('99999999999999999x'), -1);
});

test('safe_strtoull: Numbers below 2^53, BigInts above, -1 when refused', (t) => {
  t.is(ull('18446744073709551615'), 18446744073709551615);
  t.is(ull('18446744073709551616'), -1);
  t.is(ull('-1'), -1);
  t.is(strtoullU64(bytes('9007199254740993'), 0, 16), 9007199254740993n);
  t.is(strtoullU64(bytes('123'), 0, 3), 123);
  t.is(strtoullU64(bytes('12 '), 0, 3), 12);
  t.is(strtoullU64(bytes('-2'), 0, 2), NOT_U64);
  t.is(safeStrtoull(bytes('12\0a'), 0, 4), 12n); // an item value ends at a NUL, as a C string
  t.is(safeStrtoull(bytes(''), 0, 0), -1n);
});

test('whole-word forms for admin commands', (t) => {
  t.is(strtoulStr('15'), 15);
  t.is(strtoulStr(undefined), -1);
  t.is(strtolStr('-1'), -1);
  t.is(strtolStr('abc'), NOT_INT32);
  t.is(strtolStr(undefined), NOT_INT32);
});

test('putDecimal writes what String() would', (t) => {
  const b = Buffer.alloc(32);
  for (const n of [0, 7, 10, 99, 100, 4294967295, 9007199254740991]) {
    const end = putDecimal(b, 3, n);
    t.is(b.toString('latin1', 3, end), String(n));
  }
  t.is(b.toString('latin1', 0, putDecimal(b, 0, 42, 9)), '000000042');
  t.is(b.toString('latin1', 0, putDecimal(b, 0, 0, 3)), '000');
});
