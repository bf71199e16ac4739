/**
 * Imports go one way (cli -> server -> protocol -> cache): the engine knows
 * nothing of protocols or sockets, and stats, a leaf every layer may use, knows
 * nothing of protocols. Read from the import lines of the sources themselves.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from './helpers/memcached.js';

const SRC = join(REPO_ROOT, 'src');

/** Every `from '...'` and `import('...')` of a file, resolved to a path under src/ (relative imports only). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]+)['"]/g)) {
    found.push(relative(SRC, resolve(dirname(file), m[1])));
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(join(SRC, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, dir, f));
}

function violations(dir: string, forbidden: string[]): string[] {
  const bad: string[] = [];
  for (const file of sources(dir)) {
    for (const target of importsOf(file)) {
      if (forbidden.some((f) => target === f || target.startsWith(f + '/'))) {
        bad.push(`${relative(SRC, file)} imports ${target}`);
      }
    }
  }
  return bad;
}

test('the import scan sees the imports it must judge', (t) => {
  const seen = sources('protocol').flatMap(importsOf);
  t.true(seen.some((p) => p.startsWith('cache/')), 'protocol/ imports cache/, so the scan reads imports');
  t.true(sources('cache').length > 10 && sources('stats').length > 5);
});

test('nothing in cache/ imports from protocol/ or server/', (t) => {
  t.deepEqual(violations('cache', ['protocol', 'server']), []);
});

test('nothing in stats/ imports from protocol/ or server/', (t) => {
  t.deepEqual(violations('stats', ['protocol', 'server']), []);
});
