/**
 * The text protocol's one-key commands that change an item in place: touch,
 * incr/decr and delete. Each returns its reply; the caller drops it for noreply.
 */
import { ArithResult } from '../cache/arith.js';
import { KEY_MAX_LENGTH, NIL } from '../cache/engine.js';
import { NOT_INT32, NOT_U64, strtol32, strtoullU64 } from '../cache/numeric.js';
import { DELETED, NON_NUMERIC, NOT_FOUND, OK } from '../cache/status.js';
import { recordDelete } from '../stats/report.js';
import type { ServerContext } from './context.js';
import type { Output } from './output.js';
import { BAD_EXPTIME } from './text-admin.js';
import type { Words } from './text-parse.js';
import { BAD_FORMAT } from './text-store.js';
import { CRLF, NOT_FOUND as NOT_FOUND_R } from './wire.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const TOUCHED = b('TOUCHED\r\n');
const DELETED_R = b('DELETED\r\n');
const BAD_DELTA = b('CLIENT_ERROR invalid numeric delta argument\r\n');
const NON_NUMERIC_R = b('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
const ARITH_OOM = b('SERVER_ERROR out of memory\r\n');
const DELETE_USAGE = b('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
const W_ZERO = b('0');

/** incr/decr's answer from the engine, shared by all connections (a line is handled whole) */
const sharedArith = new ArithResult();

/** `touch <key> <exptime> [noreply]` */
export function textTouch(ctx: ServerContext, w: Words, buf: Buffer): Buffer {
  if (w.len(1) > KEY_MAX_LENGTH) return BAD_FORMAT;
  const exptime = strtol32(buf, w.s[2], w.e[2]);
  if (exptime === NOT_INT32) return BAD_EXPTIME;
  const h = ctx.cache.touch(buf, w.s[1], w.len(1), exptime);
  return h === NIL ? NOT_FOUND_R : TOUCHED;
}

/**
 * `incr|decr <key> <delta> [noreply]`. Null when it succeeded: the new value is
 * written to out already (nothing with noreply).
 */
export function textArith(
  ctx: ServerContext, out: Output, w: Words, buf: Buffer, incr: boolean, noreply: boolean,
): Buffer | null {
  if (w.len(1) > KEY_MAX_LENGTH) return BAD_FORMAT;
  const delta = strtoullU64(buf, w.s[2], w.e[2]); // a Number unless >= 2^53
  if (delta === NOT_U64) return BAD_DELTA;
  const r = sharedArith;
  const st = ctx.cache.arith(buf, w.s[1], w.len(1), incr, delta, r);
  if (st === OK) {
    if (!noreply) {
      out.range(r.digits, 0, r.len);
      out.bytes(CRLF);
    }
    return null;
  }
  if (st === NON_NUMERIC) return NON_NUMERIC_R;
  if (st === NOT_FOUND) return NOT_FOUND_R;
  return ARITH_OOM;
}

/** `delete <key> [0] [noreply]`; `noreply` as the caller read it (only past two words). */
export function textDelete(ctx: ServerContext, w: Words, buf: Buffer, noreply: boolean): Buffer {
  if (w.n > 2) {
    const holdIsZero = w.is(buf, 2, W_ZERO);
    const valid = (w.n === 3 && (holdIsZero || noreply)) || (w.n === 4 && holdIsZero && noreply);
    if (!valid) return DELETE_USAGE;
  }
  const ks = w.s[1];
  const kl = w.len(1);
  if (kl > KEY_MAX_LENGTH) return BAD_FORMAT;
  if (ctx.settings.detailEnabled) recordDelete(ctx, buf, ks, kl);
  return ctx.cache.delete(buf, ks, kl) === DELETED ? DELETED_R : NOT_FOUND_R;
}
