/** -v levels map onto winston levels; a quiet daemon logs only warnings and errors. */
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { createLogger, levelFor } from '../src/log.js';

test('verbosity picks the level', (t) => {
  t.deepEqual([0, 1, 2, 3, 7].map(levelFor), ['warn', 'info', 'debug', 'silly', 'silly']);
});

test('each -v opens one more level', (t) => {
  const quiet = createLogger(0);
  t.true(quiet.isErrorEnabled());
  t.true(quiet.isWarnEnabled());
  t.false(quiet.isInfoEnabled(), 'nothing at startup unless asked');
  t.true(createLogger(1).isInfoEnabled());
  t.false(createLogger(1).isDebugEnabled());
  t.true(createLogger(2).isDebugEnabled(), '-vv: each command');
  t.false(createLogger(2).isSillyEnabled());
  t.true(createLogger(3).isSillyEnabled(), '-vvv: internal state');
});

test('winston loads only for a message that passes the level', (t) => {
  const quiet = createLogger(0);
  quiet.info('not shown');
  quiet.debug('not shown');
  t.false(quiet.loaded, 'a quiet daemon never pays for winston');
  quiet.level = 'info';
  t.true(quiet.isInfoEnabled(), '`verbosity` re-levels it before it is loaded');
});

test('messages go to stderr through winston, at the level set', (t) => {
  const mod = new URL('../src/log.js', import.meta.url).href;
  const script = `import('${mod}').then(({ createLogger }) => {
    const log = createLogger(0);
    log.info('hidden'); log.warn('first'); log.level = 'debug'; log.debug('second'); log.silly('hidden');
    console.log(String(log.loaded));
  });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'true\n');
  t.is(r.stderr, 'warn: first\ndebug: second\n');
});
