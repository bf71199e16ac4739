/**
 * The judges of the concurrency tests catch what they are there to catch: torn values,
 * another key's or another version's bytes, stale reads, reads of flushed writes, lost
 * writes, versions never written. No server: each case feeds History one bad read.
 */
import test from 'ava';
import { History, decodeValue, encodeValue } from './helpers/checked-values.js';

test('a value decodes to its version; torn, foreign and re-headed values do not', (t) => {
  const v3 = encodeValue('k', 3, 200);
  const v4 = encodeValue('k', 4, 200);
  t.is(v3.length, 200);
  t.deepEqual(decodeValue('k', v3), { version: 3 });
  const torn = v3.slice(0, 100) + v4.slice(100);
  t.regex((decodeValue('k', torn) as { problem: string }).problem, /checksum/);
  t.regex((decodeValue('j', encodeValue('k', 3, 50)) as { problem: string }).problem, /asked for j, got the value of k/);
  t.regex((decodeValue('k', v3.slice(0, 150)) as { problem: string }).problem, /checksum/);
});

test('History flags stale, flushed, lost, unwritten and mis-flagged reads, and passes good ones', (t) => {
  const judge = (missesAllowed: boolean, f: (h: History) => void): string[] => {
    const h = new History(missesAllowed);
    f(h);
    return h.problems;
  };
  const write = (h: History, key: string): number => {
    const v = h.nextVersion(key);
    h.ackWrite(key, v, 'STORED');
    return v;
  };
  // good: the newest acknowledged version, or one in flight
  t.deepEqual(judge(false, (h) => {
    write(h, 'k');
    const tok = h.beginRead(['k']);
    const v2 = h.nextVersion('k');
    h.checkRead(tok, 'k', encodeValue('k', v2, 80), v2);
  }), []);
  // stale: v1 read after v2 was acknowledged
  t.regex(judge(true, (h) => {
    write(h, 'k');
    write(h, 'k');
    h.checkRead(h.beginRead(['k']), 'k', encodeValue('k', 1, 80), 1);
  })[0], /stale/);
  // flushed: v1 acknowledged, flush acknowledged, then v1 read
  t.regex(judge(true, (h) => {
    write(h, 'k');
    h.beginFlush()();
    h.checkRead(h.beginRead(['k']), 'k', encodeValue('k', 1, 80), 1);
  })[0], /after a flush_all/);
  // lost: a miss where nothing evicts
  t.regex(judge(false, (h) => {
    write(h, 'k');
    h.checkRead(h.beginRead(['k']), 'k', null, null);
  })[0], /miss/);
  // a version never sent, and flags of another write
  t.regex(judge(true, (h) => {
    write(h, 'k');
    h.checkRead(h.beginRead(['k']), 'k', encodeValue('k', 5, 80), 5);
  })[0], /only v1 was ever sent/);
  t.regex(judge(true, (h) => {
    write(h, 'k');
    h.checkRead(h.beginRead(['k']), 'k', encodeValue('k', 1, 80), 7);
  })[0], /flags 7/);
  // a write the server did not store
  t.regex(judge(true, (h) => h.ackWrite('k', h.nextVersion('k'), 'SERVER_ERROR out of memory'))[0], /answered/);
});
