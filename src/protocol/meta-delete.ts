/**
 * md (meta delete), as memcached's process_mdelete_command:
 *
 *   md <key> <flag>*  ->  HD|NF|EX <flag>*\r\n
 *
 * C deletes only on a CAS match (EX otherwise, counted as a delete miss). I keeps
 * the item but marks it stale with a new CAS (and T's TTL), so that the next mg
 * wins the recache while others keep getting the stale value. x (after 1.6.18)
 * replaces the value with an empty one instead of removing the item. q hides HD.
 * Any flag error answers "invalid or duplicate flag", as memcached does.
 */
import { NIL } from '../cache/engine.js';
import { invalidate, tombstone } from '../cache/meta-ops.js';
import {
  ERR_INVALID_OR_DUP, metaPreamble, metaEchoOpaqueKey,
} from './meta-flags.js';
import type { MetaCommands } from './meta.js';
import { CRLF } from './wire.js';

const ERR_TOO_LONG = Buffer.from('CLIENT_ERROR options flags too long\r\n');
const ERR_NO_MEMORY = Buffer.from('SERVER_ERROR out of memory\r\n');

export function metaDelete(m: MetaCommands): void {
  const line = m.line;
  const of = m.flags;
  const out = m.conn.out;
  const cache = m.ctx.cache;
  if (!metaPreamble(line, of, out, cache.clock, ERR_TOO_LONG, ERR_INVALID_OR_DUP, true)) return;
  const key = of.keyBuf;
  const ks = of.keyStart;
  const kl = of.keyLen;
  // memcached writes the flags first and the two status letters over a reserved gap
  const mark = out.mark();
  out.reserve(2);
  out.len += 2;
  if (!metaEchoOpaqueKey(out, line, of, mark)) return;

  const counters = cache.counters;
  // the hash again for the unlink below
  const hv = cache.keyHash(key, ks, kl);
  let h = cache.peek(key, ks, kl, hv);
  let c0 = 0x48; // H
  let c1 = 0x44; // D
  let quiet = false;
  if (h === NIL) {
    counters.delete_misses++;
    c0 = 0x4e; // NF
    c1 = 0x46;
  } else if (of.hasCas && of.reqCas !== cache.cas(h)) {
    counters.delete_misses++;
    c0 = 0x45; // EX
    c1 = 0x58;
  } else {
    if (of.removeVal) {
      h = tombstone(cache, h, key, ks, kl, of.clientFlags, of.exptime, of.hasCasIn, of.casIn);
      if (h === NIL) {
        out.len = mark;
        out.bytes(ERR_NO_MEMORY);
        return;
      }
    }
    if (of.setStale) {
      invalidate(cache, h, of.newTtl, of.exptime, of.hasCasIn, of.casIn);
    } else {
      cache.classCounters.delete_hits[cache.classOf(h)]++;
      if (!of.removeVal) cache.unlink(h, hv);
    }
    quiet = of.noReply;
  }
  if (quiet) {
    out.len = mark;
    return;
  }
  out.buf[mark] = c0;
  out.buf[mark + 1] = c1;
  out.bytes(CRLF);
}
