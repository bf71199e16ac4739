/**
 * The daemon's log: winston, one plain line per entry, to stderr (journald keeps it).
 * Verbosity follows memcached's -v count:
 *   0  warn and error only (the default: a healthy daemon says nothing)
 *   1  -v    info: connections, settings changes
 *   2  -vv   debug: each command and reply
 *   3+ -vvv  silly: internal state changes
 * Nothing is logged at startup unless a level asks for it.
 */
import winston from 'winston';

export type Logger = winston.Logger;

const LEVEL_BY_VERBOSITY = ['warn', 'info', 'debug', 'silly'] as const;

export function levelFor(verbosity: number): (typeof LEVEL_BY_VERBOSITY)[number] {
  const v = Math.max(0, Math.min(LEVEL_BY_VERBOSITY.length - 1, Math.floor(verbosity)));
  return LEVEL_BY_VERBOSITY[v];
}

export function createLogger(verbosity: number): Logger {
  return winston.createLogger({
    level: levelFor(verbosity),
    levels: winston.config.npm.levels,
    format: winston.format.printf(({ level, message }) => `${level}: ${String(message)}`),
    transports: [
      // every level to stderr, like memcached's fprintf(stderr, ...)
      new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) }),
    ],
  });
}
