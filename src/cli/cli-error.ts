/** A refused command line, caught once in main.ts: one line, exit 1. */

/** Bad command line: `message` is one line that names the flag. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly flag: string | null = null) {
    super(message);
  }
}
