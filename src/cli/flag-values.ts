/**
 * Strict readers for flag values, shared by the flag, `-o` and cross-flag code: whole
 * numbers, floats, ports, sizes, and the one-line CliError that names the flag and the
 * value it got. Also the ParseState those readers fill in while a command line is read.
 *
 * memcached reads most numbers with atoi(), so `-m 1g` quietly becomes 1 MB; these
 * refuse anything that is not the whole number (or float) it claims to be.
 */
import { MB, type Settings } from '../config.js';
import { CliError, EX_USAGE } from './cli-error.js';
import type { FlagSpec } from './flag-table.js';
import { flagName } from './getopt.js';

/** The settings being assembled, and what the cross-flag rules need to know afterwards. */
export interface ParseState {
  s: Settings;
  given: Set<string>;
  warnings: string[];
  /** slab_chunk_max was set explicitly, so -I > 1m and no_modern leave it alone */
  slabChunkChanged: boolean;
  protocolGiven: boolean;
  slabSizesRaw: string | null;
}

/** One line: the flag, the value it got (when there is one to show), and why it is refused. */
export function bad(f: FlagSpec, raw: string | null, why: string, exitCode = 1): CliError {
  const value = raw === null ? '' : ` ${JSON.stringify(raw)}`;
  return new CliError(`${flagName(f)}${value}: ${why}`, flagName(f), exitCode);
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A whole decimal number, or null. */
export function toInt(raw: string): number | null {
  const t = raw.trim();
  if (!INT_RE.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

export function toFloat(raw: string): number | null {
  const t = raw.trim();
  if (!FLOAT_RE.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The last value of a flag that may repeat: memcached keeps the last. */
export function last(values: string[]): string {
  return values[values.length - 1];
}

export function port(f: FlagSpec, raw: string, what: string): number {
  const n = toInt(raw);
  if (n === null) throw bad(f, raw, `not a ${what} port number (0 to 65535; 0 turns ${what} off)`, EX_USAGE);
  if (n < 0 || n > 65535) throw bad(f, raw, `Invalid port number ${n}.`, EX_USAGE);
  return n;
}

export function positiveInt(f: FlagSpec, raw: string, memcachedMessage: string): number {
  const n = toInt(raw);
  if (n === null || n <= 0 || n > 0x7fffffff) throw bad(f, raw, memcachedMessage);
  return n;
}

export function nonEmpty(f: FlagSpec, raw: string, what: string): string {
  if (raw.length === 0) throw bad(f, raw, `expected ${what}`);
  return raw;
}

/** -I: bytes, or k/m suffixed, as memcached reads it (no g: memcached would read "1g" as 1 byte). */
export function itemSize(f: FlagSpec, raw: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(raw.trim());
  if (m === null) {
    throw bad(f, raw, 'give bytes with an optional k or m suffix, e.g. -I 2m (min 1k, max 1024m)', EX_USAGE);
  }
  const unit = m[2].toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? MB : 1);
  if (!Number.isSafeInteger(n)) throw bad(f, raw, 'Cannot set item size limit higher than a gigabyte.', EX_USAGE);
  return n;
}
