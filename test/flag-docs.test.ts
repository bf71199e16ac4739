/**
 * docs/flags.md lists every flag and -o key that src/cli/flag-table.ts defines, with
 * the same help. When a key is added or its help changes, `npm run docs:flags`
 * regenerates the tables.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { currentTables, documentedNames, FLAGS_DOC, flagTables } from './flag-docs.js';

const FIX = 'run `npm run docs:flags` to regenerate docs/flags.md';

test('docs/flags.md names every flag and -o key in flag-table.ts', (t) => {
  const tables = currentTables(readFileSync(FLAGS_DOC, 'utf8'));
  t.not(tables, null, 'docs/flags.md has the generated-table markers');
  const missing = documentedNames().filter((name) => !tables!.includes(`\`${name}\``));
  t.deepEqual(missing, [], `missing from docs/flags.md: ${missing.join(' ')}; ${FIX}`);
});

test('docs/flags.md tables are the ones flag-table.ts renders', (t) => {
  t.is(currentTables(readFileSync(FLAGS_DOC, 'utf8')), flagTables(), FIX);
});
