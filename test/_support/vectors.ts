/** The real EQ2 client capture in test/vectors/eq2_login_capture.txt, parsed. */
import { readFileSync } from "node:fs";

/** One captured datagram. */
export interface CapturedDatagram {
  readonly direction: "C>S" | "S>C";
  readonly bytes: Uint8Array;
  readonly description: string;
}

/** Parses a hex string ("00ff…") into bytes. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`Invalid hex: '${hex.slice(0, 40)}'`);
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Formats bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The CRC key of every datagram in the capture. */
export const CAPTURE_CRC_KEY = 0x33624702;

/** Every datagram of the capture, in order. */
export function loadCapture(): CapturedDatagram[] {
  const text = readFileSync(new URL("../vectors/eq2_login_capture.txt", import.meta.url), "utf8");
  return text.split("\n")
    .filter((line) => line.startsWith("C>S\t") || line.startsWith("S>C\t"))
    .map((line) => {
      const [direction, hex, description] = line.split("\t");
      return { direction: direction as "C>S" | "S>C", bytes: fromHex(hex!), description: description ?? "" };
    });
}
