/**
 * memcached's command line as getopt_long tokenises it: clustered short flags
 * (`-vvv`, `-MC`), glued values (`-p11211`), a value that starts with a dash
 * (`-D -`), `--name=value` and `--name value`, and unambiguous prefixes of long
 * names (`--conn=10`). The result is one canonical argv for yargs.
 */
import { CliError } from './cli-error.js';
import { FLAGS, type FlagSpec } from './flag-table.js';

export const ACTION_FLAGS = new Set(['h', 'V', 'i']);
export const BY_SHORT = new Map<string, FlagSpec>(FLAGS.map((f) => [f.short, f]));
export const BY_LONG = new Map<string, FlagSpec>(FLAGS.filter((f) => f.long !== null).map((f) => [f.long as string, f]));

/** The key yargs stores a flag under. */
export function keyOf(f: FlagSpec): string {
  return f.long ?? f.short;
}

/** How a flag is named in messages: `-p/--port`. */
export function flagName(f: FlagSpec): string {
  return f.long === null ? `-${f.short}` : `-${f.short}/--${f.long}`;
}

export interface Normalised {
  /** canonical argv for yargs */
  tokens: string[];
  /** first of -h, -V, -i seen (getopt order: memcached exits there) */
  action: 'run' | 'help' | 'version' | 'license';
  /** keys of flags that were given */
  given: Set<string>;
}

/**
 * Tokenise argv the way getopt_long does for memcached's option string, into `--key=value`
 * and `--key` words. Stops at the first -h/-V/-i, since memcached exits there.
 */
export function getoptNormalise(argv: readonly string[]): Normalised {
  const tokens: string[] = [];
  const given = new Set<string>();
  const emit = (f: FlagSpec, value: string | null): void => {
    given.add(keyOf(f));
    tokens.push(value === null ? `--${keyOf(f)}` : `--${keyOf(f)}=${value}`);
  };
  const actionOf = (f: FlagSpec): Normalised['action'] | null =>
    f.short === 'h' ? 'help' : f.short === 'V' ? 'version' : f.short === 'i' ? 'license' : null;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      if (i + 1 < argv.length) throw unexpected(argv[i + 1]);
      break;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const f = lookupLong(name, arg);
      const action = actionOf(f);
      if (action !== null) return { tokens, action, given };
      if (f.kind === 'value') {
        let value: string | undefined;
        if (eq >= 0) value = body.slice(eq + 1);
        else value = argv[++i];
        if (value === undefined) throw new CliError(`option '--${f.long}' requires an argument`, flagName(f));
        emit(f, value);
      } else {
        if (eq >= 0) throw new CliError(`option '--${f.long}' doesn't allow an argument`, flagName(f));
        emit(f, null);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const f = BY_SHORT.get(arg[j]);
        if (f === undefined) {
          throw new CliError(`invalid option -- '${arg[j]}' (see --help)`, `-${arg[j]}`);
        }
        const action = actionOf(f);
        if (action !== null) return { tokens, action, given };
        if (f.kind !== 'value') {
          emit(f, null);
          continue;
        }
        // getopt: the rest of this word is the value, else the whole next word, dash or not
        let value: string | undefined = arg.slice(j + 1);
        if (value === '') value = argv[++i];
        if (value === undefined) throw new CliError(`option requires an argument -- '${f.short}'`, flagName(f));
        emit(f, value);
        break;
      }
      continue;
    }
    throw unexpected(arg);
  }
  return { tokens, action: 'run', given };
}

function unexpected(arg: string): CliError {
  return new CliError(`unexpected argument ${JSON.stringify(arg)}: every setting is a flag, e.g. -m 64 (see --help)`);
}

/** getopt_long accepts any unambiguous prefix of a long name. */
function lookupLong(name: string, arg: string): FlagSpec {
  const exact = BY_LONG.get(name);
  if (exact !== undefined) return exact;
  const matches = name === '' ? [] : FLAGS.filter((f) => f.long !== null && f.long.startsWith(name));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    const names = matches.map((f) => `'--${f.long}'`).join(' ');
    throw new CliError(`option '${arg}' is ambiguous; possibilities: ${names}`, arg);
  }
  throw new CliError(`unrecognized option '${arg}' (see --help)`, arg);
}
