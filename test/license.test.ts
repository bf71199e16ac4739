/**
 * The LICENSE file and `slabcache -i` say the same thing: the copyright line and
 * the memcached notice that -i prints are in LICENSE word for word, and both, like
 * package.json, name the BSD 3-Clause License.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SLABCACHE_BIN } from './helpers/memcached.js';

const run = promisify(execFile);
const words = (s: string): string => s.replace(/\s+/g, ' ').trim();

test('LICENSE holds what -i prints', async (t) => {
  const license = words(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8'));
  const printed = (await run(process.execPath, [SLABCACHE_BIN, '-i'], { timeout: 20_000 })).stdout;
  const paragraphs = printed.split(/\n\s*\n/).map(words).filter((p) => p !== '');
  const copyright = paragraphs.find((p) => p.startsWith('Copyright (c) the slabcache authors'));
  const memcached = paragraphs.find((p) => p.startsWith('slabcache reimplements the memcached protocol'));
  t.truthy(copyright, '-i prints the copyright line');
  t.truthy(memcached, '-i prints the memcached notice');
  t.true(license.includes(copyright!), `LICENSE has "${copyright}"`);
  t.true(license.includes(memcached!), `LICENSE has "${memcached}"`);
  t.true(license.startsWith('BSD 3-Clause License'), 'LICENSE is the BSD 3-Clause License');
  t.regex(printed, /BSD 3-Clause License/);
  t.is((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string }).license, 'BSD-3-Clause');
});
