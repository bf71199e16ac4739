/**
 * memcached 1.6's command line, parsed into Settings.
 *
 * memcached reads its flags with getopt_long: short flags cluster (`-vvv`, `-MC`), a short
 * flag's value may be glued on (`-p11211`, `-I2m`) or be the next word even when that word
 * starts with a dash (`-D -`), long flags take `--name=value` or `--name value`, and a long
 * name may be shortened to any unambiguous prefix (`--conn=10`). We replay that tokenising
 * ourselves (getoptNormalise), hand yargs-parser an argv in one canonical form
 * (`--name=value`, `--name`), and let it collect the values, counts and repeats.
 *
 * Then every value is checked strictly. memcached uses atoi() for most numbers, so it quietly
 * turns `-m 1g` into 1 MB and `-p abc` into "TCP off"; we refuse those with one line that
 * names the flag. Where memcached does refuse, the line carries memcached's own wording, so
 * anyone who knows memcached's messages recognises ours.
 *
 * This file wires yargs-parser and applies the single-letter flags; the value readers are in
 * flag-values.ts, `-o` keys in ext-options.ts, and the rules between flags (checked
 * once all are read) in flag-rules.ts.
 *
 * memcached 1.6.18 refusals and exit codes, as the real binary prints them (we always exit 1):
 *   -p 70000           ERROR: Invalid port number 70000.                                   (64)
 *   -f 1               Factor must be greater than 1                                       (1)
 *   -n 0               Chunk size must be greater than 0                                   (1)
 *   -t 0               Number of threads must be greater than 0                            (1)
 *   -c 0               Maximum connections must be greater than 0                          (1)
 *   -R 0               Number of requests per event must be greater than 0                 (1)
 *   -B foo             Invalid value for binding protocol: foo -- should be one of ...     (64)
 *   -D ''              No delimiter specified                                              (1)
 *   -I 512 / -I 2g     Item max size cannot be less than 1024 bytes.  (2g is atoi'd to 2)  (64)
 *   -I 33m (-m 64)     Cannot set item size limit higher than 1/2 of memory max.           (64)
 *   -m 4096 -I 1025m   Cannot set item size limit higher than a gigabyte.                  (64)
 *   -I 1k              slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024) (64)
 *   -I 1000k           -I (item_size_max: 1024000) must be evenly divisible by slab_chunk_max (bytes: 524288) (64)
 *   -m 1g / -m abc     (atoi: 1 MB / 0 MB) Cannot set item size limit higher than 1/2 of memory max. (64)
 *   -o bogus           Illegal suboption "bogus"                                           (1)
 *   -x / --bogus       invalid option -- 'x' / unrecognized option '--bogus', Illegal argument "?" (1)
 */
// yargs' own parser, without the rest of yargs (usage, locales, terminal width), which
// getoptNormalise and help.ts do here: loading all of yargs costs the daemon 12 MB of RSS
import yargsParser from 'yargs-parser';
import { defaultSettings, MB, type Settings } from '../config.js';
import { CliError, EX_OSERR, EX_USAGE } from './cli-error.js';
import { FLAGS, type FlagSpec } from './flag-table.js';
import { ACTION_FLAGS, getoptNormalise, keyOf } from './getopt.js';
import { applyExtended } from './ext-options.js';
import { crossChecks } from './flag-rules.js';
import {
  bad, itemSize, last, nonEmpty, type ParseState, port, positiveInt, toFloat, toInt,
} from './flag-values.js';

export { CliError } from './cli-error.js';
export { EXT_OPTIONS, FLAGS, type ExtSpec, type FlagKind, type FlagSpec } from './flag-table.js';
export { getoptNormalise } from './getopt.js';

/** Everything parseCommandLine found: what to do, the settings, and warnings to print. */
export interface CommandLine {
  action: 'run' | 'help' | 'version' | 'license';
  settings: Settings;
  /** non-fatal remarks memcached prints too (e.g. many threads); print them to stderr */
  warnings: string[];
}

/** Parse argv (without node and script) into Settings. Throws CliError. -h/-V/-i do not change the result. */
export function parseArgs(argv: string[]): Settings {
  return parseCommandLine(argv).settings;
}

/**
 * Hand the canonical tokens to yargs-parser: it types, counts and collects repeats.
 * getoptNormalise has already refused unknown flags, missing values and stray words.
 */
function yargsParse(tokens: string[]): Record<string, unknown> {
  const string: string[] = [];
  const boolean: string[] = [];
  const count: string[] = [];
  const alias: Record<string, string> = {};
  for (const f of FLAGS) {
    // -h/-V/-i never get here (getoptNormalise stops at them)
    if (ACTION_FLAGS.has(f.short)) continue;
    const key = keyOf(f);
    (f.kind === 'value' ? string : f.kind === 'bool' ? boolean : count).push(key);
    if (f.long !== null) alias[key] = f.short;
  }
  const r = yargsParser.detailed(tokens, {
    string, boolean, count, alias,
    configuration: {
      'camel-case-expansion': false,
      'dot-notation': false,
      'boolean-negation': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'duplicate-arguments-array': true,
      'flatten-duplicate-arrays': true,
      'greedy-arrays': false,
      'strip-aliased': true,
      'halt-at-non-option': false,
    },
  });
  if (r.error) throw new CliError(r.error.message);
  return r.argv as Record<string, unknown>;
}

/** Every value given for a flag, in order (yargs-parser gives one value or an array of repeats). */
function valuesOf(parsed: Record<string, unknown>, f: FlagSpec): string[] {
  const v = parsed[keyOf(f)];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => String(x));
}

/** Parse argv (without node and script). Throws CliError with one line naming the flag. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { tokens, action, given } = getoptNormalise(argv);
  const settings = defaultSettings();
  if (action !== 'run') return { action, settings, warnings: [] };
  const parsed = yargsParse(tokens);
  const warnings: string[] = [];
  const st: ParseState = { s: settings, given, warnings, slabChunkChanged: false, protocolGiven: false, slabSizesRaw: null };
  const lastRaw = new Map<string, string>();
  for (const f of FLAGS) {
    if (!given.has(keyOf(f))) continue;
    const values = valuesOf(parsed, f);
    if (values.length > 0) lastRaw.set(f.short, last(values));
    applyFlag(st, f, values, parsed[keyOf(f)]);
  }
  crossChecks(st, lastRaw);
  return { action, settings, warnings };
}

function applyFlag(st: ParseState, f: FlagSpec, values: string[], rawParsed: unknown): void {
  const s = st.s;
  if (f.kind === 'bool') {
    const on = rawParsed === true || (Array.isArray(rawParsed) && rawParsed.includes(true));
    if (!on) return;
    switch (f.short) {
      case 'A': s.shutdownEnabled = true; break;
      case 'd': s.daemonize = true; break;
      case 'r': s.maxCore = true; break;
      case 'M': s.evictToFree = false; break;
      case 'k': s.lockMemory = true; break;
      case 'L': s.preallocate = true; break;
      case 'C': s.useCas = false; break;
      case 'S': s.sasl = true; break;
      case 'F': s.flushEnabled = false; break;
      case 'X': s.dumpEnabled = false; break;
      case 'W': s.watchEnabled = false; break;
      case 'Z': s.ssl = true; break;
      default: throw new Error(`unhandled flag -${f.short}`);
    }
    return;
  }
  if (f.kind === 'count') {
    const n = typeof rawParsed === 'number' ? rawParsed : values.length;
    s.verbose = n;
    return;
  }
  if (f.short === 'l') {
    applyListen(st, f, values);
    return;
  }
  if (f.short === 'o') {
    for (const v of values) applyExtended(st, f, v);
    return;
  }
  const raw = last(values);
  switch (f.short) {
    case 'p': s.port = port(f, raw, 'TCP'); break;
    case 'U': s.udpport = port(f, raw, 'UDP'); break;
    case 's': s.socketpath = nonEmpty(f, raw, 'a path for the UNIX socket'); break;
    case 'a': {
      if (!/^0?[0-7]{1,3}$/.test(raw.trim())) throw bad(f, raw, 'not an octal access mask such as 700 or 0660', EX_USAGE);
      s.accessMask = parseInt(raw.trim(), 8);
      break;
    }
    case 'u': s.username = nonEmpty(f, raw, 'a user name'); break;
    case 'm': {
      const n = toInt(raw);
      if (n === null) {
        throw bad(f, raw, 'not a whole number of megabytes (memcached reads -m in megabytes with no suffix: for 1 GiB use -m 1024)', EX_USAGE);
      }
      if (n <= 0) throw bad(f, raw, 'memory limit must be at least 1 megabyte', EX_USAGE);
      if (!Number.isSafeInteger(n * MB)) throw bad(f, raw, 'memory limit too large', EX_USAGE);
      s.maxbytes = n * MB;
      break;
    }
    case 'c': s.maxconns = positiveInt(f, raw, 'Maximum connections must be greater than 0'); break;
    case 't': {
      s.numThreads = positiveInt(f, raw, 'Number of threads must be greater than 0');
      if (s.numThreads > 64) {
        st.warnings.push('WARNING: Setting a high number of worker threads is not recommended. Set this value to the number of cores in your machine or less.');
      }
      break;
    }
    case 'R': s.reqsPerEvent = positiveInt(f, raw, 'Number of requests per event must be greater than 0'); break;
    case 'P': s.pidFile = nonEmpty(f, raw, 'a file name for the pid'); break;
    case 'f': {
      const n = toFloat(raw);
      if (n === null || n <= 1) throw bad(f, raw, 'Factor must be greater than 1');
      s.growthFactor = n;
      break;
    }
    case 'n': s.chunkSize = positiveInt(f, raw, 'Chunk size must be greater than 0'); break;
    case 'D': {
      if (raw.length === 0) throw bad(f, raw, 'No delimiter specified');
      // memcached keeps the first character and turns per-prefix stats on
      s.prefixDelimiter = raw[0];
      s.detailEnabled = true;
      break;
    }
    case 'b': {
      const n = toInt(raw);
      if (n === null || n < 0) throw bad(f, raw, 'backlog must be a whole number, 0 or more');
      s.backlog = n;
      break;
    }
    case 'B': {
      if (raw !== 'auto' && raw !== 'ascii' && raw !== 'binary') {
        throw bad(f, raw, `Invalid value for binding protocol: ${raw} -- should be one of auto, binary, or ascii`, EX_USAGE);
      }
      s.protocol = raw;
      st.protocolGiven = true;
      break;
    }
    case 'I': s.itemSizeMax = itemSize(f, raw); break;
    case 'Y': s.authFile = nonEmpty(f, raw, 'a file of user:password lines'); break;
    case 'e': s.memoryFile = nonEmpty(f, raw, 'a file to keep item memory in'); break;
    case 'N':
      s.napiIds = positiveInt(f, raw, 'Maximum number of NAPI IDs must be greater than 0');
      s.noEffect.push('-N');
      break;
    default: throw new Error(`unhandled flag -${f.short}`);
  }
}

/**
 * -l: comma (or semicolon) separated entries, the flag may repeat; each entry is
 * `[notls:]host`, `host:port`, `[ipv6]:port`, a bare IPv6 address, or `*` for all.
 * Kept as given (deduplicated) so `stats settings` shows memcached's `inter` line; each entry
 * is checked with the server's own parser once -Z and -p are known (crossChecks).
 */
function applyListen(st: ParseState, f: FlagSpec, values: string[]): void {
  const out: string[] = [];
  for (const value of values) {
    const entries = value.split(/[,;]/).filter((e) => e.length > 0);
    if (entries.length === 0) throw bad(f, value, 'no interface given (use * for all interfaces)', EX_OSERR);
    for (const entry of entries) if (!out.includes(entry)) out.push(entry);
  }
  st.s.interfaces = out;
}
