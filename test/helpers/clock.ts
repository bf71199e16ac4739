/**
 * Waiting for a server's clock, without sleeping a fixed time: memcached's clock moves in
 * whole seconds, and tests of last-access and idle-age rules must see it move. These
 * read `stats` `time` until it has passed a mark, and fail, saying so, when it does not.
 */
import { RawClient } from './telnet.js';

/** The server's `stats` `time` (its clock, whole seconds). */
export async function serverTime(client: RawClient): Promise<number> {
  await client.send('stats\r\n');
  const reply = (await client.readUntil('END\r\n')).toString('latin1');
  const m = /STAT time (\d+)\r\n/.exec(reply);
  if (m === null) throw new Error(`no STAT time in: ${reply.slice(0, 200)}`);
  return Number(m[1]);
}

/**
 * Waits until the server's clock reads at least `mark` (from serverTime) and returns that
 * reading. Asks every 50 ms; throws after timeoutMs with what it saw.
 */
export async function untilServerTime(client: RawClient, mark: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await serverTime(client);
    if (now >= mark) return now;
    if (Date.now() > deadline) {
      throw new Error(`server clock still at ${now} after ${timeoutMs} ms, waited for ${mark}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
