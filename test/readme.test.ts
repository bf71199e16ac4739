/**
 * The README's telnet transcript, replayed against the real daemon: every
 * ```transcript block is a session where `> ` lines are sent and the rest must come
 * back exactly.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startSlabcache } from './helpers/memcached.js';
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

test('every README transcript replays byte for byte', async (t) => {
  for (const lines of transcripts()) {
    const server = await startSlabcache(t);
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
