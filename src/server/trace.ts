/**
 * -vv: each client command and reply on the log, in memcached's shape
 * ("<ID request line", ">ID reply line"). Called only when settings.verbose > 1,
 * so a default daemon does no work here; strings are made freely because this is
 * a debugging path.
 *
 * Lines are cut at LINE_MAX bytes and at most LINES_MAX lines are shown per read
 * or write, so a large value does not flood the journal.
 */
import type { Logger } from '../log.js';

const LINE_MAX = 200;
const LINES_MAX = 20;

/** Logs the lines of buf[start, end) prefixed with `mark` and the connection id. */
export function traceBytes(log: Logger, mark: '<' | '>', id: number, buf: Uint8Array, start: number, end: number): void {
  if (end <= start) return;
  if (mark === '<' && buf[start] === 0x80) {
    log.debug(`${mark}${id} binary request, ${end - start} bytes`);
    return;
  }
  let pos = start;
  let lines = 0;
  while (pos < end) {
    if (lines === LINES_MAX) {
      log.debug(`${mark}${id} ... ${end - pos} more bytes`);
      return;
    }
    let eol = pos;
    while (eol < end && buf[eol] !== 0x0a) eol++;
    let stop = eol > pos && buf[eol - 1] === 0x0d ? eol - 1 : eol;
    const cut = stop - pos > LINE_MAX;
    if (cut) stop = pos + LINE_MAX;
    log.debug(`${mark}${id} ${printable(buf, pos, stop)}${cut ? '...' : ''}`);
    lines++;
    pos = eol + 1;
  }
}

/** Logs a write made of several buffers (replies with values written from the arena). */
export function traceWrites(log: Logger, id: number, parts: readonly Uint8Array[]): void {
  let total = 0;
  for (const p of parts) total += p.length;
  if (parts.length === 1) {
    traceBytes(log, '>', id, parts[0], 0, parts[0].length);
    return;
  }
  const first = parts[0];
  traceBytes(log, '>', id, first, 0, Math.min(first.length, LINE_MAX));
  log.debug(`>${id} (${total} bytes in ${parts.length} parts)`);
}

function printable(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const c = buf[i];
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}
