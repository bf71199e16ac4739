/**
 * The text protocol's retrieval commands: get, gets, gat, gats and bget, every
 * key on the line answered in order, then END. A line whose replies fill the
 * output batch stops after the last key answered and is taken up again from the
 * next one on a later turn (the caller keeps where, and passes it back).
 */
import { KEY_MAX_LENGTH, NIL } from '../cache/engine.js';
import { NOT_INT32, strtol32 } from '../cache/numeric.js';
import { recordGet } from '../stats/report.js';
import type { ServerContext } from './context.js';
import type { Output } from './output.js';
import { BAD_EXPTIME } from './text-admin.js';
import type { Words } from './text-parse.js';
import { BAD_FORMAT } from './text-store.js';

/** Keys a long get line answers between looks for another thread waiting for the engine (a power of 2). */
const LOCK_CHECK_KEYS = 32;

/**
 * One get/gets/gat/gats line, split into `w`; `resume` is 0 for a new line, else
 * what the last call returned. Returns 0 once END is written, else where the line
 * goes on (an offset from lineStart): the batch filled.
 */
export function textGet(
  ctx: ServerContext, out: Output, w: Words, buf: Buffer, lineStart: number,
  withCas: boolean, touch: boolean, resume: number,
): number {
  let exptime = 0;
  let p = w.s[1];
  if (touch) {
    exptime = strtol32(buf, w.s[1], w.e[1]);
    if (exptime === NOT_INT32) {
      out.bytes(BAD_EXPTIME);
      return 0;
    }
    p = w.e[1];
  }
  if (w.rest < 0 && resume === 0) {
    // every key is a word split already: no second pass over the key bytes
    const first = touch ? 2 : 1;
    // memcached drops the values it queued when a key is too long: check first
    for (let i = first; i < w.n; i++) {
      if (w.e[i] - w.s[i] > KEY_MAX_LENGTH) {
        out.bytes(BAD_FORMAT);
        return 0;
      }
    }
    for (let i = first; i < w.n; i++) {
      // memcached starts a response object per key (END joins the last one's)
      if (i > first) out.unit();
      getKey(ctx, out, buf, w.s[i], w.e[i], withCas, touch, exptime);
      if (out.full && i + 1 < w.n) {
        // the batch holds what one client may have waiting: the rest next turn
        return w.s[i + 1] - lineStart;
      }
    }
    out.end();
    return 0;
  }
  const end = w.end;
  if (resume > 0) {
    p = lineStart + resume;
  } else {
    // memcached drops the values it queued when a key is too long: check first
    for (let q = p; q < end;) {
      while (q < end && buf[q] === 0x20) q++;
      const ks = q;
      while (q < end && buf[q] !== 0x20) q++;
      if (q - ks > KEY_MAX_LENGTH) {
        out.bytes(BAD_FORMAT);
        return 0;
      }
    }
  }
  let more = false;
  let keys = 0;
  while (p < end) {
    while (p < end && buf[p] === 0x20) p++;
    if (p >= end) break;
    if (more) out.unit();
    more = true;
    const ks = p;
    while (p < end && buf[p] !== 0x20) p++;
    getKey(ctx, out, buf, ks, p, withCas, touch, exptime);
    // the batch holds what one client may have waiting, or another thread waits for
    // the engine: the rest of the line next turn. A waiter is looked for only every
    // LOCK_CHECK_KEYS keys, so only long lines stop for it: a short multiget holds the
    // lock for a few µs, and cutting it into turns costs more writes than it saves
    if ((out.full || ((++keys & (LOCK_CHECK_KEYS - 1)) === 0 && ctx.cache.lock.wanted)) && p < end) {
      return p - lineStart;
    }
  }
  out.end();
  return 0;
}

/** One key of a get line: its VALUE reply if it is there. */
function getKey(
  ctx: ServerContext, out: Output, buf: Buffer, ks: number, ke: number,
  withCas: boolean, touch: boolean, exptime: number,
): void {
const cache = ctx.cache;
  const kl = ke - ks;
  const h = touch ? cache.gat(buf, ks, kl, exptime) : cache.get(buf, ks, kl);
  if (ctx.settings.detailEnabled) recordGet(ctx, buf, ks, kl, h !== NIL);
  if (h === NIL) return;
  out.hit(buf, ks, ke, h, withCas ? cache.cas(h) : -1);
}
