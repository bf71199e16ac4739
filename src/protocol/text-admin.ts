/**
 * The text protocol's housekeeping commands (flush_all, verbosity,
 * cache_memlimit, shutdown) and the glue to stats/ replies: cold paths, kept
 * out of text.ts so the request loop reads on one screen. Each returns the reply
 * memcached 1.6.18 sends; text.ts applies noreply.
 */
import { MB } from '../config.js';
import type { Output } from './output.js';
import type { ServerContext } from './context.js';
import type { Words } from './text-parse.js';
import { NOT_INT32, strtol32, strtoul32 } from '../cache/numeric.js';
import { CRLF, ERROR, OK } from './wire.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const BAD_FORMAT = b('CLIENT_ERROR bad command line format\r\n');
export const BAD_EXPTIME = b('CLIENT_ERROR invalid exptime argument\r\n');
const FLUSH_DISABLED = b('CLIENT_ERROR flush_all not allowed\r\n');
const SHUTDOWN_DISABLED = b('ERROR: shutdown not enabled\r\n');
const SHUTDOWN_MODE = b('CLIENT_ERROR invalid shutdown mode\r\n');
const MEMLIMIT_SMALL = b('MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n');
const MEMLIMIT_BYTES = b('MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n');
const MEMLIMIT_FAILED = b('MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n');
const W_GRACEFUL = b('graceful');

/** memcached's MAX_VERBOSITY_LEVEL */
const MAX_VERBOSITY_LEVEL = 2;

/** `flush_all [delay] [noreply]`: counted even when refused (-F), as memcached counts it. */
export function flushAll(ctx: ServerContext, buf: Buffer, w: Words, noreply: boolean): Buffer {
  ctx.counters.cmd_flush++;
  if (!ctx.settings.flushEnabled) return FLUSH_DISABLED;
  let delay = 0;
  // memcached parses a delay whenever the word count says one is there
  if (w.ntokens !== (noreply ? 3 : 2)) {
    delay = strtol32(buf, w.s[1], w.e[1]);
    if (delay === NOT_INT32) return BAD_EXPTIME;
  }
  ctx.cache.flush(delay > 0 ? delay : 0);
  return OK;
}

export function verbosity(ctx: ServerContext, buf: Buffer, w: Words): Buffer {
  const level = strtoul32(buf, w.s[1], w.e[1]);
  if (level < 0) return BAD_FORMAT;
  ctx.setVerbosity(Math.min(level, MAX_VERBOSITY_LEVEL));
  return OK;
}

/** `cache_memlimit <megabytes>`: a new -m at runtime. */
export function memlimit(ctx: ServerContext, buf: Buffer, w: Words): Buffer {
  const mb = strtoul32(buf, w.s[1], w.e[1]);
  if (mb < 0) return ERROR;
  if (mb < 8) return MEMLIMIT_SMALL;
  if (mb > 1000000000) return MEMLIMIT_BYTES;
  if (!ctx.cache.setMemLimit(mb * MB)) return MEMLIMIT_FAILED;
  ctx.settings.maxbytes = mb * MB;
  return OK;
}

/** `shutdown [graceful]`: the reply, or null when the daemon should stop (with -A). */
export function shutdown(ctx: ServerContext, buf: Buffer, w: Words): Buffer | null {
  if (!ctx.settings.shutdownEnabled) return SHUTDOWN_DISABLED;
  if (w.n === 1 || (w.n === 2 && w.is(buf, 1, W_GRACEFUL))) return null;
  return SHUTDOWN_MODE;
}

export function wordsAfter(buf: Buffer, w: Words, from: number): string[] {
  const args: string[] = [];
  for (let i = from; i < w.n; i++) args.push(w.str(buf, i));
  return args;
}

/** A reply under statsReport()'s contract: verbatim, \r\n added if missing, '' is nothing. */
export function textReply(out: Output, r: string): void {
  if (r === '') return;
  out.text(r);
  if (!r.endsWith('\r\n')) out.bytes(CRLF);
}
