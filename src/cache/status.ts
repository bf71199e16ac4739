/**
 * What the engine answers. No wire words here: each protocol maps these to its
 * own bytes (text: STORE_REPLY[status]; binary: a status code).
 */
export const STORED = 0;
export const NOT_STORED = 1;
export const EXISTS = 2;
export const NOT_FOUND = 3;
export const NO_MEMORY = 4;
export const TOO_LARGE = 5;
export const DELETED = 6;
export const NON_NUMERIC = 7;
export const OK = 8;
/** ms/ma with invalidation: the item was stale and this write won (meta W) */
export type Status = number;

/** Store modes, memcached's NREAD_* */
export const NREAD_ADD = 1;
export const NREAD_SET = 2;
export const NREAD_REPLACE = 3;
export const NREAD_APPEND = 4;
export const NREAD_PREPEND = 5;
export const NREAD_CAS = 6;
export type StoreMode = number;
