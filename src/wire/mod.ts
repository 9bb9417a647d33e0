/**
 * Pure byte-level building blocks: readers and writers, checksums, ciphers and compression.
 * Nothing here does I/O or reads a clock.
 * @module
 */
export { ByteArena, DEFAULT_ARENA_CHUNK_BYTES } from "./byte_arena.ts";
export { ByteReader } from "./byte_reader.ts";
export { ByteWriter, DEFAULT_WRITER_CAPACITY, DEFAULT_WRITER_MAX_BYTES } from "./byte_writer.ts";
export type { ByteWriterOptions } from "./byte_writer.ts";
export { crc32, eq2Crc } from "./crc32.ts";
export { DEFAULT_LZ4_MAX_BYTES, lz4Compress, lz4Decompress, lz4DecompressedLength, setLz4WasmSource } from "./lz4.ts";
export { EQ2_RC4_DROP, Rc4 } from "./rc4.ts";
export { WireError, WireErrorCode } from "./wire_error.ts";
export { DEFAULT_INFLATE_MAX_BYTES, ZlibDeflater, ZlibInflater } from "./zlib_stream.ts";
export type { ZlibDeflaterOptions, ZlibInflaterOptions } from "./zlib_stream.ts";
