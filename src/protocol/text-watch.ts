/**
 * `watch [fetchers|mutations|evictions|connevents|sysevents|rawcmds|proxyreqs|
 * proxyevents|proxyuser ...]`: memcached 1.6.18's process_watch_command. With
 * no argument a watcher gets fetchers. The connection then belongs to the log
 * stream (log-stream/), which sends `OK\r\n` and the lines.
 */
import {
  LOG_CONNEVENTS, LOG_EVICTIONS, LOG_FETCHERS, LOG_MUTATIONS, LOG_PROXYEVENTS, LOG_PROXYREQS, LOG_PROXYUSER,
  LOG_RAWCMDS, LOG_SYSEVENTS, WATCHER_OK, WATCHER_TOO_MANY,
} from '../log-stream/log-hub.js';
import type { ProtoConn, ServerContext } from './context.js';
import type { Words } from './text-parse.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const ERROR = b('ERROR\r\n');
const NOT_ALLOWED = b('CLIENT_ERROR watch commands not allowed\r\n');
const PIPELINED = b('ERROR cannot pipeline other commands before watch\r\n');
const TOO_MANY = b('WATCHER_TOO_MANY log watcher limit reached\r\n');
const FAILED = b('WATCHER_FAILED failed to add log watcher\r\n');

const WORDS: ReadonlyArray<[Buffer, number]> = [
  [b('rawcmds'), LOG_RAWCMDS], [b('evictions'), LOG_EVICTIONS], [b('fetchers'), LOG_FETCHERS],
  [b('mutations'), LOG_MUTATIONS], [b('sysevents'), LOG_SYSEVENTS], [b('connevents'), LOG_CONNEVENTS],
  [b('proxyreqs'), LOG_PROXYREQS], [b('proxyevents'), LOG_PROXYEVENTS], [b('proxyuser'), LOG_PROXYUSER],
];

/**
 * The reply to send, or null when there is none: the watch began (the log stream
 * sends OK), or `noreply` silenced an error (memcached's set_noreply_maybe comes
 * first; and since `noreply` is no event name, a watch with it always fails).
 * `queued`: replies to earlier pipelined requests still wait to be sent.
 */
export function watchCommand(ctx: ServerContext, conn: ProtoConn, buf: Buffer, w: Words, queued: boolean): Buffer | null {
  const noreply = w.noreply(buf);
  const reply = (r: Buffer): Buffer | null => (noreply ? null : r);
  if (!ctx.settings.watchEnabled) return reply(NOT_ALLOWED);
  if (queued) return reply(PIPELINED);
  let flags = 0;
  if (w.n > 1) {
    for (let i = 1; i < w.n; i++) {
      let f = 0;
      for (const [word, flag] of WORDS) {
        if (w.is(buf, i, word)) {
          f = flag;
          break;
        }
      }
      if (f === 0) return reply(ERROR);
      flags |= f;
    }
  } else {
    flags = LOG_FETCHERS;
  }
  if (conn.watch === undefined) return reply(FAILED); // UDP: no connection to hand over
  const r = conn.watch(flags);
  if (r === WATCHER_OK) return null;
  return reply(r === WATCHER_TOO_MANY ? TOO_MANY : FAILED);
}
