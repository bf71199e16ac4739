/**
 * TextProtocol in process, over a fake connection: over TCP the kernel may merge
 * or cut requests anywhere, so every split of a request stream, and one byte per
 * read, must answer the same bytes as the whole; -R yields; a connection that
 * goes away mid-value gives its half-filled item back.
 */
import test from 'ava';
import type { Settings } from '../src/config.js';
import { TextProtocol } from '../src/protocol/text.js';
import { FakeConn } from './meta-helpers.js';
import { protoRig } from './helpers/proto-rig.js';

function rig(over: Partial<Settings> = {}) {
  const r = protoRig((ctx, conn) => new TextProtocol(ctx, conn), over);
  return { ...r, output: (): string => r.output().toString('latin1') };
}

const big = 'v'.repeat(20_000); // past PIN_MIN: written from the arena, and arrives in many reads
const STREAM = Buffer.from([
  'set a 5 0 5\r\nhello\r\n',
  `set big 0 0 ${big.length}\r\n${big}\r\n`,
  'get a missing big\r\n',
  'gets a\r\n',
  'cas a 0 0 1 999\r\nx\r\n',
  'append a 0 0 3\r\n!!!\r\n', 'prepend a 0 0 1 noreply\r\n<\r\n',
  'add a 0 0 1\r\nz\r\n', 'replace nokey 0 0 1\r\nz\r\n',
  'set n 0 0 2\r\n10\r\n', 'incr n 5\r\n', 'decr n 100\r\n', 'incr n x\r\n', 'incr a 1\r\n',
  'touch a 100\r\n', 'gat 0 a n\r\n', 'gats 0 nokey\r\n',
  'delete n\r\n', 'delete n\r\n', 'delete a 0 noreply\r\n', 'delete a 5\r\n',
  'set bad 0 0 2\r\ntoolong\r\n',
  'set k 0 0 -1\r\n', 'get ' + 'k'.repeat(251) + '\r\n',
  'bogus\r\n', '\r\n', 'get\r\n', 'verbosity 1\r\n', 'version\r\n',
  'ms m 2 T0\r\nhi\r\n', 'mg m v k\r\n', 'mn\r\n',
  'flush_all noreply\r\n', 'get big\r\n',
].join(''), 'latin1');

test('every split of a text request stream answers the same bytes as the whole', (t) => {
  const whole = rig();
  whole.feed(STREAM);
  const expected = whole.output();
  t.true(expected.startsWith('STORED\r\nSTORED\r\nVALUE a 5 5\r\nhello\r\nVALUE big 0 20000\r\n'));
  t.true(expected.endsWith('HD\r\nVA 2 km\r\nhi\r\nMN\r\nEND\r\n'), 'the stream ran to its end');
  t.is(whole.tailLength(), 0);
  // split at every offset into two reads
  for (let cut = 1; cut < STREAM.length; cut += cut < 400 || cut > STREAM.length - 400 ? 1 : 97) {
    const r = rig();
    r.feed(STREAM.subarray(0, cut));
    r.feed(STREAM.subarray(cut));
    const got = r.output();
    if (got !== expected) {
      t.is(got, expected, `split at ${cut}`);
      return;
    }
  }
  // one byte per read
  const r = rig();
  for (let i = 0; i < STREAM.length; i++) r.feed(STREAM.subarray(i, i + 1));
  t.is(r.output(), expected);
  t.is(r.tailLength(), 0);
});

test('three reads cut at every pair of offsets in a pipelined burst', (t) => {
  const burst = Buffer.from('set x 0 0 3\r\nabc\r\nget x y\r\nincr x 1\r\ndelete x\r\n', 'latin1');
  const whole = rig();
  whole.feed(burst);
  const expected = whole.output();
  t.is(expected, 'STORED\r\nVALUE x 0 3\r\nabc\r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nDELETED\r\n');
  for (let a = 1; a < burst.length; a++) {
    for (let b = a + 1; b < burst.length; b++) {
      const r = rig();
      r.feed(burst.subarray(0, a));
      r.feed(burst.subarray(a, b));
      r.feed(burst.subarray(b));
      const got = r.output();
      if (got !== expected) {
        t.is(got, expected, `cut at ${a} and ${b}`);
        return;
      }
    }
  }
});

test('-R: at most reqsPerEvent requests per call, then yielded', (t) => {
  const r = rig({ reqsPerEvent: 3 });
  const ten = Buffer.from('version\r\n'.repeat(10), 'latin1');
  const n = r.proto.process(ten, 0, ten.length);
  t.is(n, 3 * 'version\r\n'.length);
  t.true(r.proto.yielded);
  t.is(r.ctx.counters.conn_yields, 1);
  t.is(r.proto.process(ten, n, ten.length), n);
});

test('a connection closed mid-value gives the item back', (t) => {
  const r0 = rig();
  const value = Buffer.alloc(700_000, 0x63);
  // far more half-sent values than memory holds: each must be released
  for (let i = 0; i < 20; i++) {
    const r = { ...r0, proto: new TextProtocol(r0.ctx, new FakeConn(r0.cache)) };
    const head = Buffer.from(`set big${i} 0 0 ${value.length}\r\n`, 'latin1');
    r.proto.process(Buffer.concat([head, value.subarray(0, 300_000)]), 0, head.length + 300_000);
    r.proto.closed();
  }
  r0.feed(Buffer.concat([Buffer.from(`set last 0 0 ${value.length}\r\n`), value, Buffer.from('\r\nget nothing\r\n')]));
  t.is(r0.output(), 'STORED\r\nEND\r\n');
});

test('the tokenizer splits words of every length on spaces, stops at a NUL and keeps the rest past 23 words', async (t) => {
  const { Words, MAX_WORDS } = await import('../src/protocol/text-parse.js');
  // memcached's tokenize_command() over a C string, byte by byte
  const reference = (line: Buffer): { words: string[]; rest: number; end: number } => {
    let stop = line.indexOf(0);
    if (stop < 0) stop = line.length;
    const words: string[] = [];
    let i = 0;
    let rest = -1;
    for (;;) {
      while (i < stop && line[i] === 0x20) i++;
      if (i >= stop) break;
      if (words.length === MAX_WORDS) {
        rest = i;
        break;
      }
      const ws = i;
      while (i < stop && line[i] !== 0x20) i++;
      words.push(line.toString('latin1', ws, i));
    }
    return { words, rest, end: stop };
  };
  const w = new Words();
  const lines: Buffer[] = [];
  const chars = ['a', 'b', ' ', '  ', '\t', '\u00ff', '\0'];
  // every word length from 0 to 13 around a NUL and spaces at each offset in a 4-byte turn
  for (let len = 0; len <= 13; len++) {
    for (let at = 0; at <= len; at++) {
      for (const c of chars) {
        const word = 'k'.repeat(at) + c + 'k'.repeat(len - at);
        lines.push(Buffer.from(`get ${word} x`, 'latin1'), Buffer.from(`${word}`, 'latin1'));
      }
    }
  }
  lines.push(Buffer.from(Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ') + ' \0 tail', 'latin1'));
  for (const line of lines) {
    // inside a larger buffer: nothing past the line's end may be read as part of it
    const buf = Buffer.concat([Buffer.from('zz'), line, Buffer.from('yyyy')]);
    const n = w.split(buf, 2, 2 + line.length);
    const want = reference(line);
    const got = Array.from({ length: n }, (_, i) => buf.toString('latin1', w.s[i], w.e[i]));
    t.deepEqual(got, want.words, JSON.stringify(line.toString('latin1')));
    t.is(w.rest < 0 ? -1 : w.rest - 2, want.rest);
    t.is(w.end - 2, want.end);
  }
});
