/**
 * IP addresses and CIDR networks for IP bans. Every address becomes 128 bits (IPv4 as IPv4-mapped
 * IPv6, `::ffff:a.b.c.d`, so a dual-stack socket's `::ffff:192.0.2.1` matches a ban on `192.0.2.0/24`),
 * and a network is stored as its first and last address in 32 lowercase hex digits: fixed-width text
 * that compares like the numbers in both SQLite and PostgreSQL.
 */
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

/** Longest accepted address or network text (a full IPv6 address with embedded IPv4 and a prefix is 49). */
export const IP_TEXT_MAX = 64;

/** A parsed network: canonical text and its bounds. */
export interface IpNetwork {
  /** `"192.0.2.0/24"`, `"2001:db8::/32"`; single addresses keep their `/32` or `/128`. */
  readonly cidr: string;
  readonly first: string;
  readonly last: string;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0xffff] as const;

function invalid(text: string, why: string): StoreError {
  const shown = text.length > IP_TEXT_MAX ? `${text.slice(0, IP_TEXT_MAX)}…` : text;
  return new StoreError(STORE_ERROR_CODES.INVALID_ADDRESS, `Invalid IP address '${shown}': ${why}`);
}

function parseIpv4(text: string, original: string): number[] {
  const parts = text.split(".");
  if (parts.length !== 4) throw invalid(original, "an IPv4 address has four dotted parts");
  const bytes = parts.map((part) => {
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part.startsWith("0")) || Number(part) > 255) {
      throw invalid(original, `'${part}' is not a number in 0..255`);
    }
    return Number(part);
  });
  return [(bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!];
}

function parseGroups(text: string, original: string, ipv4Tail: boolean): number[] {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (const [index, part] of parts.entries()) {
    if (ipv4Tail && index === parts.length - 1 && part.includes(".")) {
      groups.push(...parseIpv4(part, original));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      throw invalid(original, `'${part}' is not a group of 1 to 4 hex digits`);
    }
  }
  return groups;
}

function parseIpv6(text: string, original: string): number[] {
  const halves = text.split("::");
  if (halves.length > 2) throw invalid(original, "'::' appears more than once");
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, original, false);
    const tail = parseGroups(halves[1]!, original, true);
    if (head.length + tail.length > 7) throw invalid(original, "too many groups around '::'");
    return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const groups = parseGroups(text, original, true);
  if (groups.length !== 8) throw invalid(original, "an IPv6 address has eight groups");
  return groups;
}

function hex(groups: readonly number[]): string {
  return groups.map((g) => g.toString(16).padStart(4, "0")).join("");
}

function isMapped(groups: readonly number[]): boolean {
  return MAPPED_PREFIX.every((g, i) => groups[i] === g);
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const text = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

/** Parses an address to eight 16-bit groups (IPv4 mapped). Strips an IPv6 zone (`%eth0`). */
function parseAddress(text: string, original: string): number[] {
  if (text.includes(":")) return parseIpv6(text.replace(/%[^%]*$/, ""), original);
  return [...MAPPED_PREFIX, ...parseIpv4(text, original)];
}

/**
 * Parses `ADDR` or `ADDR/BITS` (IPv4 or IPv6). Host bits below the prefix are cleared:
 * `"10.1.2.3/8"` becomes `"10.0.0.0/8"`.
 */
export function parseIpNetwork(text: string): IpNetwork {
  if (text.length === 0 || text.length > IP_TEXT_MAX) throw invalid(text, `length must be 1..${IP_TEXT_MAX}`);
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const groups = parseAddress(addressText, text);
  const ipv4 = !addressText.includes(":") || isMapped(groups);
  let bits = 128;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    const max = addressText.includes(":") ? 128 : 32;
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) {
      throw invalid(text, `prefix length '${bitsText}' is not a number in 0..${max}`);
    }
    bits = Number(bitsText) + (addressText.includes(":") ? 0 : 96);
  }
  if (ipv4 && bits < 96) {
    // An IPv6 prefix shorter than /96 around a mapped address leaves the IPv4 space: keep it IPv6.
    return build(groups, bits, false);
  }
  return build(groups, bits, ipv4);
}

function build(groups: readonly number[], bits: number, ipv4: boolean): IpNetwork {
  const first: number[] = [];
  const last: number[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    first.push(groups[i]! & mask);
    last.push((groups[i]! & mask) | (~mask & 0xffff));
  }
  const cidr = ipv4
    ? `${first[6]! >> 8}.${first[6]! & 0xff}.${first[7]! >> 8}.${first[7]! & 0xff}/${bits - 96}`
    : `${formatIpv6(first)}/${bits}`;
  return { cidr, first: hex(first), last: hex(last) };
}

/** The 32-hex-digit key of one address (`ADDR` without a prefix). */
export function ipKey(text: string): string {
  if (text.includes("/")) throw invalid(text, "expected an address, not a network");
  return parseIpNetwork(text).first;
}
