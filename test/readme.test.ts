/**
 * The README's telnet transcript, replayed against the real daemon and against
 * memcached 1.6.18: every ```transcript block is a session where `> ` lines are sent
 * and the rest must come back exactly, from both. And every relative link in the
 * README and docs/ names a file that exists.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, startMemcached, startSlabcache } from './helpers/memcached.js';
import { telnet } from './helpers/telnet.js';

function transcripts(): string[][] {
  const text = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks: string[][] = [];
  const re = /```transcript\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) blocks.push(m[1].replace(/\n$/, '').split('\n'));
  return blocks;
}

test('the README has a transcript', (t) => {
  t.true(transcripts().length >= 1);
});

for (const [name, start] of [['slabcache', startSlabcache], ['memcached 1.6.18', startMemcached]] as const) {
  test(`every README transcript replays byte for byte against ${name}`, async (t) => {
    for (const lines of transcripts()) {
      const server = await start(t);
      const mc = await telnet(t, server);
      // group: consecutive `> ` lines form one request, the lines after it its reply
      for (let i = 0; i < lines.length;) {
        let request = '';
        while (i < lines.length && lines[i].startsWith('> ')) request += lines[i++].slice(2) + '\r\n';
        let reply = '';
        while (i < lines.length && !lines[i].startsWith('> ')) reply += lines[i++] + '\r\n';
        if (reply === '' && request.startsWith('quit')) {
          await mc.send(request);
          await mc.expectClosed();
        } else {
          await mc.says(request, reply);
        }
      }
    }
  });
}

test('every relative link in README.md and docs/ names a file that exists', (t) => {
  const files = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(m[1])) continue; // http:, https:, mailto:
      if (!existsSync(join(REPO_ROOT, dirname(file), m[1]))) broken.push(`${file}: ${m[1]}`);
    }
  }
  t.true(files.length > 1, 'docs/ has pages');
  t.deepEqual(broken, []);
});
