/**
 * The daemon's log: winston, one plain line per entry, to stderr (journald keeps it).
 * Verbosity follows memcached's -v count:
 *   0  warn and error only (the default: a healthy daemon says nothing)
 *   1  -v    info: connections, settings changes
 *   2  -vv   debug: each command and reply
 *   3+ -vvv  silly: internal state changes
 * Nothing is logged at startup unless a level asks for it.
 */
import { createRequire } from 'node:module';
import type winston from 'winston';

/** What the daemon logs through: winston's level methods and its mutable level. */
export interface Logger {
  level: string;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  silly(message: string): void;
  isErrorEnabled(): boolean;
  isWarnEnabled(): boolean;
  isInfoEnabled(): boolean;
  isDebugEnabled(): boolean;
  isSillyEnabled(): boolean;
}

const LEVEL_BY_VERBOSITY = ['warn', 'info', 'debug', 'silly'] as const;
/** winston's npm levels: a message goes out when its rank is at most the logger's. */
const NPM_RANK: Readonly<Record<string, number>> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

export function levelFor(verbosity: number): (typeof LEVEL_BY_VERBOSITY)[number] {
  const v = Math.max(0, Math.min(LEVEL_BY_VERBOSITY.length - 1, Math.floor(verbosity)));
  return LEVEL_BY_VERBOSITY[v];
}

/**
 * A logger that loads winston on its first message that passes the level. A quiet
 * daemon (no -v) logs nothing in normal operation, and winston with its dependencies
 * costs ~2 MB of resident memory in the daemon once loaded (idle RSS 63.2 -> 61.1 MB;
 * ~10 MB in a bare node, but the daemon loads most of what it shares anyway).
 * winston is CommonJS, so require() loads it synchronously and no line is reordered.
 */
class LazyLogger implements Logger {
  private rank: number;
  private real: winston.Logger | null = null;

  constructor(private lvl: string) {
    this.rank = NPM_RANK[lvl];
  }

  get level(): string {
    return this.lvl;
  }
  set level(l: string) {
    this.lvl = l;
    this.rank = NPM_RANK[l];
    if (this.real !== null) this.real.level = l;
  }

  error(m: string): void { this.write(0, 'error', m); }
  warn(m: string): void { this.write(1, 'warn', m); }
  info(m: string): void { this.write(2, 'info', m); }
  debug(m: string): void { this.write(5, 'debug', m); }
  silly(m: string): void { this.write(6, 'silly', m); }
  isErrorEnabled(): boolean { return this.rank >= 0; }
  isWarnEnabled(): boolean { return this.rank >= 1; }
  isInfoEnabled(): boolean { return this.rank >= 2; }
  isDebugEnabled(): boolean { return this.rank >= 5; }
  isSillyEnabled(): boolean { return this.rank >= 6; }

  /** Whether winston has been loaded (tests). */
  get loaded(): boolean {
    return this.real !== null;
  }

  private write(rank: number, level: string, message: string): void {
    if (rank > this.rank) return;
    (this.real ??= makeWinston(this.lvl)).log(level, message);
  }
}

function makeWinston(level: string): winston.Logger {
  const w = createRequire(import.meta.url)('winston') as typeof winston;
  return w.createLogger({
    level,
    levels: w.config.npm.levels,
    format: w.format.printf(({ level: l, message }) => `${l}: ${String(message)}`),
    transports: [
      // every level to stderr, like memcached's fprintf(stderr, ...)
      new w.transports.Console({ stderrLevels: Object.keys(w.config.npm.levels) }),
    ],
  });
}

export function createLogger(verbosity: number): Logger & { readonly loaded: boolean } {
  // find it now (cheap, runs nothing): a broken install fails at startup, not at the
  // first error line of a daemon that has been serving for days
  createRequire(import.meta.url).resolve('winston');
  return new LazyLogger(levelFor(verbosity));
}
