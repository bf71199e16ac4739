/** A refused command line, caught once in main.ts: one line, and memcached's exit status. */

/** sysexits.h: memcached exits with these where its checks after getopt fail. */
export const EX_USAGE = 64;
export const EX_OSERR = 71;

/**
 * Bad command line: `message` is one line that names the flag. `exitCode` is the status
 * memcached exits with for the same refusal: 1 for getopt and per-key `-o` errors, 64
 * (EX_USAGE) for its later checks, 71 (EX_OSERR) for a listen address it cannot use.
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly flag: string | null = null, readonly exitCode = 1) {
    super(message);
  }
}
