/**
 * LZ4 block compression through the `lz4-wasm-nodejs` WebAssembly module, with a loader of our own
 * so that it works under Deno, under Bun and inside a compiled executable.
 *
 * Format: a u32 little-endian uncompressed length followed by one LZ4 block (the size-prepended
 * block format of lz4_flex). Decompression checks that length against a limit *before* the
 * WebAssembly code allocates anything, so hostile input costs bounded memory.
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { WireError, WireErrorCode } from "./wire_error.ts";

/** Default largest decompressed size accepted by {@linkcode lz4Decompress}: 16 MiB. */
export const DEFAULT_LZ4_MAX_BYTES = 16 * 1024 * 1024;

const WASM_SPECIFIER = "lz4-wasm-nodejs/lz4_wasm_nodejs_bg.wasm";

interface Lz4Exports {
  readonly memory: WebAssembly.Memory;
  compress(resultPointer: number, inputPointer: number, inputLength: number): void;
  decompress(resultPointer: number, inputPointer: number, inputLength: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(pointer: number, size: number): void;
}

let readWasm: () => Uint8Array = () => readFileSync(createRequire(import.meta.url).resolve(WASM_SPECIFIER));
let instance: Lz4Exports | undefined;
/** Strings the module hands out (its error messages), addressed by index. */
let handedStrings: string[] = [];

/**
 * Replaces how the `.wasm` bytes are found. A compiled executable, whose files live in an embedded
 * file system, calls this before the first use.
 */
export function setLz4WasmSource(read: () => Uint8Array): void {
  readWasm = read;
  instance = undefined;
}

/** The `.wasm` bytes, from wherever they are found (for a worker thread to load them too). */
export function lz4WasmBytes(): Uint8Array {
  return readWasm();
}

function load(): Lz4Exports {
  if (instance !== undefined) return instance;
  const module = new WebAssembly.Module(readWasm() as Uint8Array<ArrayBuffer>);
  const decoder = new TextDecoder();
  const created = new WebAssembly.Instance(module, {
    __wbindgen_placeholder__: {
      __wbindgen_string_new: (pointer: number, length: number): number => {
        const memory = new Uint8Array((created.exports as unknown as Lz4Exports).memory.buffer);
        handedStrings.push(decoder.decode(memory.subarray(pointer, pointer + length)));
        return handedStrings.length - 1;
      },
    },
  });
  instance = created.exports as unknown as Lz4Exports;
  return instance;
}

/** Runs one compress/decompress call: copies `input` in, returns a copy of the output. */
function call(which: "compress" | "decompress", input: Uint8Array): Uint8Array {
  const wasm = load();
  const resultPointer = wasm.__wbindgen_add_to_stack_pointer(-16);
  try {
    const inputPointer = wasm.__wbindgen_malloc(input.length);
    new Uint8Array(wasm.memory.buffer).set(input, inputPointer);
    wasm[which](resultPointer, inputPointer, input.length);
    const words = new Int32Array(wasm.memory.buffer, resultPointer, 4);
    const [outputPointer, outputLength, errorIndex, failed] = [words[0]!, words[1]!, words[2]!, words[3]!];
    if (which === "decompress" && failed !== 0) {
      const reason = handedStrings[errorIndex] ?? "unknown error";
      handedStrings = [];
      throw new WireError(WireErrorCode.CorruptCompressed, `Cannot decompress LZ4 block: ${reason}`);
    }
    const output = new Uint8Array(wasm.memory.buffer, outputPointer, outputLength).slice();
    wasm.__wbindgen_free(outputPointer, outputLength);
    return output;
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      // A trap leaves the module's stack and heap undefined: start over with a fresh instance.
      instance = undefined;
      throw new WireError(WireErrorCode.CorruptCompressed, `Cannot ${which} LZ4 block: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    if (instance !== undefined) wasm.__wbindgen_add_to_stack_pointer(16);
  }
}

/** Compresses `input` into the size-prepended LZ4 block format. */
export function lz4Compress(input: Uint8Array): Uint8Array {
  return call("compress", input);
}

/** The uncompressed length announced by a size-prepended LZ4 block. */
export function lz4DecompressedLength(block: Uint8Array): number {
  if (block.length < 4) {
    throw new WireError(
      WireErrorCode.CorruptCompressed,
      `Cannot decompress LZ4 block: ${block.length} bytes is shorter than its 4-byte length prefix`,
    );
  }
  return (block[0]! | (block[1]! << 8) | (block[2]! << 16) | (block[3]! << 24)) >>> 0;
}

/**
 * Decompresses a size-prepended LZ4 block. Throws `WIRE_DECOMPRESSED_TOO_LARGE` when the announced
 * length exceeds `maxBytes` (default {@linkcode DEFAULT_LZ4_MAX_BYTES}), and `WIRE_CORRUPT_COMPRESSED`
 * when the block is malformed or does not produce exactly the announced length.
 */
export function lz4Decompress(block: Uint8Array, maxBytes = DEFAULT_LZ4_MAX_BYTES): Uint8Array {
  const announced = lz4DecompressedLength(block);
  if (announced > maxBytes) {
    throw new WireError(
      WireErrorCode.DecompressedTooLarge,
      `Cannot decompress LZ4 block: length ${announced} exceeds limit ${maxBytes}`,
    );
  }
  const output = call("decompress", block);
  if (output.length !== announced) {
    throw new WireError(
      WireErrorCode.CorruptCompressed,
      `Cannot decompress LZ4 block: produced ${output.length} bytes, announced ${announced}`,
    );
  }
  return output;
}
