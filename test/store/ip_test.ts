import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { IP_TEXT_MAX, ipKey, parseIpNetwork } from "../../src/store/_ip.ts";
import { STORE_ERROR_CODES, StoreError } from "../../src/store/store_error.ts";
import { propertyParameters } from "../_support/property.ts";

function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".");
}

function throwsAddress(text: string, message: string): void {
  assert.throws(
    () => parseIpNetwork(text),
    (error) =>
      error instanceof StoreError && error.code === STORE_ERROR_CODES.INVALID_ADDRESS && error.message === message,
    text,
  );
}

test("parseIpNetwork() gives canonical CIDR text and clears host bits", () => {
  const cases: [string, string][] = [
    ["192.0.2.7", "192.0.2.7/32"],
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["::ffff:192.0.2.9", "192.0.2.9/32"],
    ["::ffff:192.0.2.9/120", "192.0.2.0/24"],
    ["2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1/128"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1/128"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["2001:db8:abcd::1/48", "2001:db8:abcd::/48"],
    ["::", "::/128"],
    ["::1", "::1/128"],
    ["fe80::1%eth0", "fe80::1/128"],
    ["::/0", "::/0"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3/128"],
  ];
  for (const [input, cidr] of cases) assert.equal(parseIpNetwork(input).cidr, cidr, input);
});

test("parseIpNetwork() maps IPv4 into the IPv4-mapped IPv6 range so both spellings match", () => {
  const v4 = parseIpNetwork("198.51.100.0/24");
  assert.equal(v4.first, "00000000000000000000ffffc6336400");
  assert.equal(v4.last, "00000000000000000000ffffc63364ff");
  assert.equal(ipKey("::ffff:198.51.100.20"), ipKey("198.51.100.20"));
  assert.equal(ipKey("::ffff:c633:6414"), ipKey("198.51.100.20"));
});

test("parseIpNetwork() refuses malformed addresses with STORE_INVALID_ADDRESS", () => {
  throwsAddress("", "Invalid IP address '': length must be 1..64");
  throwsAddress("1".repeat(IP_TEXT_MAX + 1), `Invalid IP address '${"1".repeat(IP_TEXT_MAX)}…': length must be 1..64`);
  throwsAddress("1.2.3", "Invalid IP address '1.2.3': an IPv4 address has four dotted parts");
  throwsAddress("1.2.3.04", "Invalid IP address '1.2.3.04': '04' is not a number in 0..255");
  throwsAddress("1.2.3.4/33", "Invalid IP address '1.2.3.4/33': prefix length '33' is not a number in 0..32");
  throwsAddress("::1/129", "Invalid IP address '::1/129': prefix length '129' is not a number in 0..128");
  throwsAddress("1::2::3", "Invalid IP address '1::2::3': '::' appears more than once");
  throwsAddress("1:2:3:4:5:6:7", "Invalid IP address '1:2:3:4:5:6:7': an IPv6 address has eight groups");
  throwsAddress("1:2:3:4:5:6:7::8", "Invalid IP address '1:2:3:4:5:6:7::8': too many groups around '::'");
  throwsAddress("12345::", "Invalid IP address '12345::': '12345' is not a group of 1 to 4 hex digits");
  throwsAddress("1.2.3.4::", "Invalid IP address '1.2.3.4::': '1.2.3.4' is not a group of 1 to 4 hex digits");
  throwsAddress("host.example", "Invalid IP address 'host.example': an IPv4 address has four dotted parts");
  assert.throws(() => ipKey("10.0.0.0/8"), /expected an address, not a network/);
});

test("an IPv4 network contains exactly the addresses sharing its prefix", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
      fc.integer({ min: 0, max: 32 }),
      (a, b, bits) => {
        const network = parseIpNetwork(`${ipv4Text(a)}/${bits}`);
        const key = ipKey(ipv4Text(b));
        const inside = network.first <= key && key <= network.last;
        const shift = 32 - bits;
        const samePrefix = bits === 0 || Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
        assert.equal(inside, samePrefix);
        assert.ok(network.first <= ipKey(ipv4Text(a)) && ipKey(ipv4Text(a)) <= network.last);
        assert.deepEqual(parseIpNetwork(network.cidr), network, "canonical text parses to itself");
      },
    ),
    propertyParameters(500),
  );
});

test("IPv6 addresses round-trip through their canonical text, compressed or not", () => {
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 }), (groups, bits) => {
      const full = groups.map((g) => g.toString(16)).join(":");
      const network = parseIpNetwork(`${full}/${bits}`);
      assert.deepEqual(parseIpNetwork(network.cidr), network);
      assert.equal(network.first.length, 32);
      assert.equal(network.last.length, 32);
      assert.ok(network.first <= ipKey(full) && ipKey(full) <= network.last);
    }),
    propertyParameters(500),
  );
});
