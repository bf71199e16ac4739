/**
 * The flag and `-o` tables of docs/flags.md, rendered from src/cli/flag-table.ts
 * (the tables the parser and --help read), so the docs cannot drift from the code.
 * `npm run docs:flags` runs this file and rewrites the generated part of
 * docs/flags.md in place; test/flag-docs.test.ts fails while the two differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXT_OPTIONS, FLAGS, type ExtSpec, type FlagSpec } from '../src/cli/flag-table.js';
import { REPO_ROOT } from './helpers/memcached.js';

export const FLAGS_DOC = join(REPO_ROOT, 'docs', 'flags.md');
export const BEGIN = '<!-- flag tables: generated from src/cli/flag-table.ts by `npm run docs:flags`; edit there -->';
export const END = '<!-- end of generated flag tables -->';

/** A table cell: GitHub's tables split cells at every `|`, even inside code spans. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function flagRow(f: FlagSpec): string {
  const names = f.long === null ? `\`-${f.short}\`` : `\`-${f.short}\`, \`--${f.long}\``;
  const value = f.kind === 'value' ? `\`${f.arg ?? '<value>'}\`` : f.kind === 'count' ? 'repeat: `-vv`, `-vvv`' : '';
  return `| ${names} | ${cell(value)} | ${cell(f.help)} |`;
}

function extRow(e: ExtSpec): string {
  const value = e.arg === undefined ? '' : `\`${e.arg}\``;
  return `| \`${e.name}\` | ${cell(value)} | ${cell(e.help)} |`;
}

/** The generated block, markers included. */
export function flagTables(): string {
  return [
    BEGIN,
    '',
    '### Flags',
    '',
    '| Flag | Value | What it does |',
    '|---|---|---|',
    ...FLAGS.map(flagRow),
    '',
    '### Extended options (`-o`)',
    '',
    '| Key | Value | What it does |',
    '|---|---|---|',
    ...EXT_OPTIONS.map(extRow),
    '',
    END,
  ].join('\n');
}

/** Every name the tables must show: `-p`, `--port`, `hashpower`, ... */
export function documentedNames(): string[] {
  return [
    ...FLAGS.flatMap((f) => (f.long === null ? [`-${f.short}`] : [`-${f.short}`, `--${f.long}`])),
    ...EXT_OPTIONS.map((e) => e.name),
  ];
}

/** The generated block as docs/flags.md has it now, or null if its markers are missing. */
export function currentTables(doc: string): string | null {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  return b < 0 || e < b ? null : doc.slice(b, e + END.length);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const doc = readFileSync(FLAGS_DOC, 'utf8');
  const now = currentTables(doc);
  if (now === null) throw new Error(`${FLAGS_DOC}: the markers of the generated block are missing`);
  writeFileSync(FLAGS_DOC, doc.replace(now, flagTables()));
  console.log(`${FLAGS_DOC}: ${FLAGS.length} flags, ${EXT_OPTIONS.length} -o keys`);
}
