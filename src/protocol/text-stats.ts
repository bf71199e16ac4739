/**
 * The text protocol's `stats` and the admin commands (`lru_crawler`, `slabs`,
 * `lru`): where each is answered (here, or on the thread that owns what it asks
 * about, as a deferred reply) and how its reply becomes bytes. Cold paths, kept
 * out of text.ts so the request loop reads on one screen.
 */
import { memoryStats, statsReport } from '../stats/report.js';
import { adminCommand } from './text-jobs.js';
import { formatConns } from '../stats/conns.js';
import { dumpOf } from '../stats/detail.js';
import type { ProtoConn, ServerContext } from './context.js';
import type { Words } from './text-parse.js';
import { textReply, wordsAfter } from './text-admin.js';
import { END, ERROR } from './wire.js';

/** `stats [group ...]` */
export function textStats(ctx: ServerContext, conn: ProtoConn, buf: Buffer, w: Words): void {
  const args = wordsAfter(buf, w, 1);
  const remote = ctx.remote;
  if (remote !== undefined && args.length === 1 && args[0] === 'conns' && conn.defer !== undefined) {
    // every thread's connections: the other threads answer later
    conn.defer(remote.conns().then((rows) => statsBytes(formatConns(rows))));
    return;
  }
  if (remote !== undefined && args.length === 1 && args[0] === 'memory' && conn.defer !== undefined) {
    // reply buffers are pooled per thread
    conn.defer(remote.memory().then((m) => statsBytes(memoryStats(ctx, m))));
    return;
  }
  if (remote !== undefined && args.length === 2 && args[0] === 'detail' && args[1] === 'dump' && conn.defer !== undefined) {
    // every thread counted the prefixes of its own connections' keys
    conn.defer(remote.detail().then((entries) => Buffer.from(dumpOf(entries), 'latin1')));
    return;
  }
  const r = statsReport(ctx, conn, args);
  if (args[0] === 'detail') ctx.settingsChanged?.();
  if (args[0] === 'reset') remote?.reset();
  if (typeof r === 'string') return textReply(conn.out, r);
  const out = conn.out;
  for (const [name, value] of r) out.text(`STAT ${name} ${value}\r\n`);
  out.bytes(END);
}

/**
 * lru_crawler, slabs, lru: text-jobs.ts, or ERROR if it does not know them.
 * `queued`: replies to earlier pipelined requests still wait to be sent.
 */
export function textAdmin(ctx: ServerContext, conn: ProtoConn, buf: Buffer, w: Words, queued: boolean): void {
  const words = wordsAfter(buf, w, 0);
  const remote = ctx.remote;
  if (remote !== undefined && conn.defer !== undefined && !(words[0] === 'lru_crawler' && words[1] === 'metadump')) {
    // the main thread owns the crawler, the page mover and the LRU tunables
    conn.defer(remote.admin(words).then(replyBytes));
    return;
  }
  const r = adminCommand(ctx, conn, words, queued);
  if (r === null) conn.out.bytes(ERROR);
  else textReply(conn.out, r);
}

/** A stats listing as the text protocol sends it. */
function statsBytes(pairs: Array<[string, string]>): Buffer {
  let s = '';
  for (const [name, value] of pairs) s += `STAT ${name} ${value}\r\n`;
  return Buffer.from(s + 'END\r\n', 'latin1');
}

/** A reply under statsReport()'s contract (see textReply), as bytes. */
function replyBytes(r: string): Buffer {
  if (r === '') return Buffer.alloc(0);
  return Buffer.from(r.endsWith('\r\n') ? r : r + '\r\n', 'latin1');
}
