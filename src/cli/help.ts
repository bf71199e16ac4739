/**
 * `slabcache --help` and `--license`: the flag tables from flags.ts, laid out like
 * `memcached -h` (flag column, then the explanation wrapped beside it).
 */
import { EXT_OPTIONS, FLAGS, type FlagSpec } from './flag-table.js';

const WIDTH = 100;
const FLAG_COLUMN = 30;
const EXT_COLUMN = 27;

/** Wrap `text` to fit beside a left column of `indent` characters. */
function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** One table row: `left` padded to `column`, the wrapped help beside it. */
function row(left: string, help: string, column: number): string {
  const body = wrap(help, column);
  const pad = ' '.repeat(column);
  const first = left.length < column ? left.padEnd(column) : `${left}\n${pad}`;
  return [first + (body[0] ?? ''), ...body.slice(1).map((l) => pad + l)].join('\n');
}

function flagLeft(f: FlagSpec): string {
  const value = f.kind === 'value' ? f.arg ?? '<value>' : '';
  if (f.long === null) return `  -${f.short} ${value}`.trimEnd();
  return `  -${f.short}, --${f.long}${value === '' ? '' : `=${value}`}`;
}

/** `slabcache --help`: every flag and -o key, explained. */
export function helpText(version = ''): string {
  const out: string[] = [];
  out.push(`slabcache${version === '' ? '' : ` ${version}`}: a memcached-compatible cache daemon`);
  out.push('');
  out.push('Usage: slabcache [flags]        (the same flags as memcached 1.6)');
  out.push('');
  for (const f of FLAGS) {
    out.push(row(flagLeft(f), f.help, FLAG_COLUMN));
    if (f.short === 'v') {
      out.push(row('  -vv', 'very verbose: also each command and reply', FLAG_COLUMN));
      out.push(row('  -vvv', 'extremely verbose: also internal state changes', FLAG_COLUMN));
    }
  }
  out.push('');
  out.push('Extended options, for -o key[=value],key2[=value2],... (-o may repeat; no_ turns most off):');
  for (const e of EXT_OPTIONS) {
    const left = e.arg === undefined ? `  - ${e.name}` : e.arg.startsWith('[') ? `  - ${e.name}${e.arg}` : `  - ${e.name}=${e.arg}`;
    out.push(row(left, e.help, EXT_COLUMN));
  }
  out.push('');
  out.push('Sizes: -m is megabytes; -I takes bytes or a k/m suffix. Bad values are refused with a');
  out.push('message naming the flag, and exit status 1.');
  return out.join('\n') + '\n';
}

/** `slabcache --license` */
export function licenseText(version = ''): string {
  return `slabcache ${version}

Copyright (c) the slabcache authors. All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are
permitted under the terms of the BSD 3-Clause License (see the LICENSE file).

slabcache reimplements the memcached protocol and command line; memcached is
Copyright (c) 2003, Danga Interactive, Inc. and released under the BSD 3-Clause License.
`;
}
