import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Hello, HELLO_MAGIC, PROTOCOL_VERSION } from "../../src/servertalk/control.ts";
import { FrameFlag, writeFrameHeader } from "../../src/servertalk/frame.ts";
import { LinkCore, type LinkEvent } from "../../src/servertalk/link_core.ts";
import { Opcode } from "../../src/servertalk/opcodes.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { propertyParameters } from "../_support/property.ts";

const LIMITS = { maxFrameBytes: 4096, maxMessageBytes: 16_384, maxInboundBytes: 32_768, maxConcurrentStreams: 2 };

function helloBytes(): Uint8Array {
  const payload = Hello.encode({
    magic: HELLO_MAGIC,
    protocolVersion: PROTOCOL_VERSION,
    features: 3,
    buildId: "",
    role: 2,
    name: "fuzz",
    account: "",
    password: "",
    instance: "",
    maxFrameBytes: 4096,
    maxMessageBytes: 16_384,
  });
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode: Opcode.Hello, flags: FrameFlag.Request, id: 1, payloadLength: payload.length });
  return w.bytes(payload).toBytes();
}

/** Frames with arbitrary opcodes, flags, ids and payloads: valid framing, hostile contents. */
const hostileFrame = fc.record({
  opcode: fc.oneof(
    fc.constantFrom(Opcode.KeepAlive, Opcode.Goodbye, Opcode.Hello, Opcode.LSInfo),
    fc.integer({ min: 0, max: 0xffff }),
  ),
  flags: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 8 }),
  payload: fc.uint8Array({ maxLength: 200 }),
}).map(({ opcode, flags, id, payload }) => {
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode, flags, id, payloadLength: payload.length });
  return w.bytes(payload).toBytes();
});

test("an open link fed hostile frames or random bytes closes only with a typed code and bounded memory (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(hostileFrame, fc.uint8Array({ maxLength: 300 })), { maxLength: 30 }),
      (inputs) => {
        const core = new LinkCore({ side: "acceptor", ...LIMITS });
        core.receive(helloBytes(), 0);
        core.poll(0);
        core.accept({ serverName: "s", role: 1, linkId: 1, buildId: "" }, 0);
        core.poll(0);
        const events: LinkEvent[] = [];
        let now = 0;
        for (const input of inputs) {
          now += 1000;
          core.receive(input, now);
          const poll = core.poll(now);
          events.push(...poll.events);
          assert.ok(core.queuedBytes <= 64 * 1024);
          for (const event of poll.events) {
            if (event.type === "message") assert.ok(event.payload.length <= LIMITS.maxMessageBytes);
          }
          if (core.state === "closed") break;
        }
        for (const event of events) {
          if (event.type !== "closed") continue;
          assert.match(event.error.code, /^[A-Z0-9_]+$/, event.error.message);
          assert.equal(events.at(-1), event, "closed is the last event");
        }
      },
    ),
    propertyParameters(300),
  );
});
