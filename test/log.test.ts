/** -v levels map onto winston levels; a quiet daemon logs only warnings and errors. */
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
