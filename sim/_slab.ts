/**
 * Copies of datagram bytes carved out of shared 64 KiB slabs.
 *
 * Each copy is a view of its own region, so the receiver owns it (and may mutate it) as the
 * Platform contract says. Allocating one ArrayBuffer per datagram costs ~0.7 µs on Deno (its
 * backing stores come from the system allocator) against ~0.04 µs for a view of a slab, which
 * decides whether the simulator reaches its datagram rate. A region keeps its slab alive as long as
 * it is referenced, so code that keeps many tiny datagrams for a long time holds more memory than
 * their length; large datagrams get their own buffer.
 * @module
 */

const SLAB_BYTES = 65536;
const OWN_BUFFER_FROM = 4096;

let slab = new ArrayBuffer(SLAB_BYTES);
let offset = 0;

/** A private copy of `bytes`. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return copyBytesRange(bytes, 0, bytes.length);
}

/** A private copy of `bytes[start..end)` (no view of the source is made for small copies). */
export function copyBytesRange(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n >= OWN_BUFFER_FROM) return bytes.slice(start, end);
  if (offset + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    offset = 0;
  }
  const copy = new Uint8Array(slab, offset, n);
  if (n <= 64) {
    for (let i = 0; i < n; i++) copy[i] = bytes[start + i]!;
  } else {
    copy.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  }
  // Keep regions 8-byte aligned so views stay independent of each other's layout.
  offset += (n + 7) & ~7;
  return copy;
}
