/**
 * Reply bytes that more than one protocol file sends, encoded once at load.
 * A reply only one file sends stays beside the code that sends it.
 */
const line = (s: string): Buffer => Buffer.from(s + '\r\n', 'latin1');

export const CRLF = Buffer.from('\r\n');
export const END = line('END');
export const ERROR = line('ERROR');
export const OK = line('OK');
export const STORED = line('STORED');
export const NOT_FOUND = line('NOT_FOUND');

/** Meta reply codes; the flags and \r\n follow. */
export const HD = Buffer.from('HD');
export const VA = Buffer.from('VA ');
export const NF = Buffer.from('NF');
export const EX = Buffer.from('EX');
