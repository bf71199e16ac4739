/**
 * memcached's tokenizer for text and meta request lines, over (buf, start, end)
 * ranges so the hot path never makes a string. Numbers in the words are read by
 * cache/numeric.ts.
 */

/**
 * memcached's MAX_TOKENS is 24 including the terminal token: it splits at most 23
 * words off a line and leaves the rest as one unsplit tail. Commands that check
 * their word count see at most 23 words (ntokens 24) however long the line is.
 */
export const MAX_WORDS = 23;

const EMPTY = Buffer.alloc(0);

/**
 * One request line split on spaces (only ' ': a tab is part of a word, as in
 * memcached's tokenize_command()). The one tokenizer for text and meta lines:
 * the text protocol splits a line once and hands the same Words to the meta
 * commands. Refilled for every line: nothing is allocated per request.
 */
export class Words {
  /** the buffer the last split() read: word i is buf[s[i], e[i]) */
  buf: Buffer = EMPTY;
  readonly s = new Int32Array(MAX_WORDS);
  readonly e = new Int32Array(MAX_WORDS);
  /** words found, at most MAX_WORDS */
  n = 0;
  /** where the unsplit rest of the line starts when more than MAX_WORDS words */
  rest = -1;
  /** end of the line (after trailing \r removal and truncation at a NUL byte) */
  end = 0;

  /**
   * Splits buf[start, end). memcached tokenizes a C string, so a NUL byte ends the
   * line early. Returns n.
   */
  split(buf: Buffer, start: number, end: number): number {
    this.buf = buf;
    let n = 0;
    let i = start;
    this.rest = -1;
    let stop = end;
    for (;;) {
      while (i < stop && buf[i] === 0x20) i++;
      if (i >= stop) break;
      if (n === MAX_WORDS) {
        this.rest = i;
        // the unsplit rest is a C string to memcached too: a NUL ends the line there
        const z = buf.indexOf(0, i);
        if (z >= 0 && z < stop) stop = z;
        break;
      }
      const ws = i;
      // four bytes a turn while none ends the word: (c & 0xdf) is 0 only for ' ' and
      // NUL, and a turn's loop overhead is paid once for four byte reads
      while (i + 4 <= stop &&
        (buf[i] & 0xdf) !== 0 && (buf[i + 1] & 0xdf) !== 0 && (buf[i + 2] & 0xdf) !== 0 && (buf[i + 3] & 0xdf) !== 0) {
        i += 4;
      }
      while (i < stop) {
        const c = buf[i];
        if (c === 0x20) break;
        if (c === 0) {
          stop = i;
          break;
        }
        i++;
      }
      if (i === ws) break; // a NUL right at a word start
      this.s[n] = ws;
      this.e[n] = i;
      n++;
    }
    this.n = n;
    this.end = stop;
    return n;
  }

  len(i: number): number {
    return this.e[i] - this.s[i];
  }

  /** First byte of word i (a meta flag's letter). */
  flag(i: number): number {
    return this.buf[this.s[i]];
  }

  /** memcached's ntokens: words (capped) plus the terminal token */
  get ntokens(): number {
    return this.n + 1;
  }

  /** True if word i is exactly `lit`. */
  is(buf: Uint8Array, i: number, lit: Uint8Array): boolean {
    const s = this.s[i];
    if (this.e[i] - s !== lit.length) return false;
    for (let k = 0; k < lit.length; k++) if (buf[s + k] !== lit[k]) return false;
    return true;
  }

  /** set_noreply_maybe(): the last word (tokens[ntokens - 2]) is "noreply". */
  noreply(buf: Uint8Array): boolean {
    return this.n > 0 && this.is(buf, this.n - 1, NOREPLY);
  }

  /** Word i as a string: cold paths only (stats, admin commands). */
  str(buf: Buffer, i: number): string {
    return buf.toString('latin1', this.s[i], this.e[i]);
  }
}

export const NOREPLY = Buffer.from('noreply');
