/**
 * The engine's memory, by name: item memory and every table and scalar the engine
 * keeps outside it live in buffers of this block, so that a Cache attached from
 * another thread (Cache.attach) works on the very same state.
 *
 * The block is the one place that decides what kind of buffer each is. Tables are
 * SharedArrayBuffers. Item memory (arena()) is SharedArrayBuffers for an engine
 * other threads will attach to (EngineOptions.sharedMemory), plain ArrayBuffers
 * for one that stays on its thread (the daemon at -t 1): V8 copies to and from a
 * SharedArrayBuffer with relaxed atomic byte stores and reads `.buffer` of a view of
 * one through a runtime call, where over a plain one a copy is a memcpy and
 * `.buffer` a field load (copy-bytes.ts). The tables are never copied in bulk, and
 * V8 counts a plain ArrayBuffer as external memory where it does not count a
 * SharedArrayBuffer: a plain 256 KB hash table at start moved the garbage
 * collector's schedule enough that 1,000 idle connections cost 4.5 KB of RSS each
 * instead of 1-2 (test/memory-bounds.test.ts).
 *
 * Each module asks for its arrays by name with their size. The thread that creates
 * the engine allocates them; an attached engine runs the same constructors over the
 * same options, and gets the same buffers back by name. Sizes are fixed at start,
 * except when cache_memlimit raises the memory limit past them: then the engine
 * puts bigger buffers in under the same names and passes them to every other
 * thread (engine-growth.ts).
 *
 * Plain reads and writes are enough: every thread touches the engine only while it
 * holds the engine lock, whose Atomics order them.
 */

/**
 * One of the engine's buffers: an arena is plain unless other threads attach. Not
 * ArrayBufferLike, which TypeScript may widen to other kinds of buffer.
 */
export type EngineBuffer = ArrayBuffer | SharedArrayBuffer;
export type SharedBuffers = Record<string, EngineBuffer>;

export class SharedBlock {
  private readonly bufs: SharedBuffers;
  /** True for an engine attached to an existing block: constructors then write nothing. */
  readonly attached: boolean;

  /** `shared`: other threads will attach, so item memory is shared too; else it is plain. */
  constructor(readonly shared: boolean, existing?: SharedBuffers) {
    this.attached = existing !== undefined;
    this.bufs = existing ?? {};
  }

  /** The item memory `name` of `bytes` bytes, as buffer() gives a table. */
  arena(name: string, bytes: number): EngineBuffer {
    return this.buffer(name, bytes, !this.shared);
  }

  /** The buffers, for another thread (structured-clonable). */
  get buffers(): SharedBuffers {
    return this.bufs;
  }

  /** The buffer `name` of `bytes` bytes: allocated (zeroed) on creation, looked up when attached. */
  buffer(name: string, bytes: number, plain = false): EngineBuffer {
    let b = this.bufs[name];
    if (b === undefined) {
      if (this.attached) throw new Error(`shared engine has no buffer ${name}: attached with other options?`);
      b = plain ? new ArrayBuffer(bytes) : new SharedArrayBuffer(bytes);
      this.bufs[name] = b;
    } else if (b.byteLength !== bytes) {
      throw new Error(`shared engine buffer ${name} is ${b.byteLength} bytes, not ${bytes}: attached with other options?`);
    }
    return b;
  }

  /** True if the block holds a buffer of this name. */
  has(name: string): boolean {
    return this.bufs[name] !== undefined;
  }

  /** Puts `buf` in under `name`, in place of any buffer of that name (growth). */
  replace(name: string, buf: EngineBuffer): void {
    this.bufs[name] = buf;
  }

  f64(name: string, n: number): Float64Array {
    return new Float64Array(this.buffer(name, n * 8));
  }
  u32(name: string, n: number): Uint32Array {
    return new Uint32Array(this.buffer(name, n * 4));
  }
  i32(name: string, n: number): Int32Array {
    return new Int32Array(this.buffer(name, n * 4));
  }
  u8(name: string, n: number): Uint8Array {
    return new Uint8Array(this.buffer(name, n));
  }
}
