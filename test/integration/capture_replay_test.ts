/**
 * The real EQ2 client's login datagrams (test/vectors/eq2_login_capture.txt), replayed byte for byte
 * against a real `qeynos serve` process, with only the CRCs recomputed for the key the server chose.
 */
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeDatagram, ProtocolOp, type ProtocolPacket } from "../../src/eqstream/packets.ts";
import { Eq2Login, LoginResponse } from "../../src/roles/messages/mod.ts";
import { eq2Crc } from "../../src/wire/crc32.ts";
import { EQ2_RC4_DROP, Rc4 } from "../../src/wire/rc4.ts";
import { CAPTURE_CRC_KEY, loadCapture } from "../_support/vectors.ts";
import { freeUdpPort, startQeynos } from "./_serve_process.ts";

const capture = loadCapture();
const [sessionRequest, , statRequest, , , keyReplyAndLogin, clientAck] = capture.map((d) => d.bytes) as Uint8Array[];

/** A captured client datagram with its CRC recomputed for `key`. */
function withCrc(datagram: Uint8Array, key: number): Uint8Array {
  const out = datagram.slice();
  const crc = eq2Crc(key, out, 0, out.length - 2);
  out[out.length - 2] = crc >>> 8;
  out[out.length - 1] = crc & 0xff;
  return out;
}

/** Every packet of a datagram, with Combined datagrams opened. */
function packetsOf(datagram: Uint8Array, key: number): ProtocolPacket[] {
  const packet = decodeDatagram(datagram, key);
  return packet.op === ProtocolOp.Combined ? [...packet.packets] : [packet];
}

/** The application packets of a reliable packet's data (AppCombined opened, the 0x00 escape removed). */
function appPackets(data: Uint8Array): Uint8Array[] {
  if (data[0] === 0 && data[1] === ProtocolOp.AppCombined) {
    const out: Uint8Array[] = [];
    let at = 2;
    while (at < data.length) {
      let length = data[at]!;
      at++;
      if (length === 0xff) {
        length = (data[at]! << 8) | data[at + 1]!;
        at += 2;
      }
      out.push(data.subarray(at, at + length));
      at += length;
    }
    return out;
  }
  return [data[0] === 0 ? data.subarray(1) : data];
}

class Receiver {
  readonly #queue: Uint8Array[] = [];
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on("message", (bytes: Uint8Array) => {
      this.#queue.push(new Uint8Array(bytes));
      this.#wake?.();
    });
  }

  /** Datagrams until `done` says enough (or the time runs out). */
  async until(done: (all: readonly Uint8Array[]) => boolean, timeoutMs: number): Promise<Uint8Array[]> {
    const got: Uint8Array[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(got)) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        got.push(next);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return got;
  }
}

test("the captured EQ2 client logs in to qeynos serve: session, stat response, key request, ack and encrypted reply", {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "qeynos-capture-"));
  const port = await freeUdpPort();
  const server = startQeynos([
    "serve",
    "--data-dir",
    dataDir,
    "--login-port",
    String(port),
    "--world-port",
    "0",
    "--zone-port",
    "0",
    "--zones",
    "1",
    "--auto-create",
  ]);
  const socket = createSocket("udp4");
  try {
    await server.waitFor(/serve: ready/);
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const receiver = new Receiver(socket);
    const send = (bytes: Uint8Array) => socket.send(bytes, port, "127.0.0.1");

    // 1. SessionRequest (no CRC) → SessionResponse echoing the session id, with the server's CRC key.
    send(sessionRequest!);
    const [response] = await receiver.until((all) => all.length >= 1, 10_000);
    assert.ok(response, "no SessionResponse");
    const session = decodeDatagram(response);
    assert.equal(session.op, ProtocolOp.SessionResponse);
    if (session.op !== ProtocolOp.SessionResponse) return;
    assert.equal(session.sessionId, 0x5352f60f);
    assert.equal(session.crcBytes, 2);
    assert.equal(session.format, 0);
    assert.equal(session.maxLength, 512);
    const key = session.crcKey;

    // 2. SessionStatRequest (CRC for the server's key) → SessionStatResponse and the key request (seq 0).
    send(withCrc(statRequest!, key));
    const all = (datagrams: readonly Uint8Array[]) => datagrams.flatMap((d) => packetsOf(d, key));
    const second = await receiver.until((got) => {
      const packets = all(got);
      return packets.some((p) => p.op === ProtocolOp.SessionStatResponse) &&
        packets.some((p) => p.op === ProtocolOp.Packet && p.seq === 0);
    }, 10_000);
    const packets2 = all(second);
    const stat = packets2.find((p) => p.op === ProtocolOp.SessionStatResponse);
    assert.ok(stat && stat.op === ProtocolOp.SessionStatResponse, "no SessionStatResponse");
    assert.equal(stat.requestId, 0x52d7);
    assert.equal(stat.clientPacketsSent, 2n);
    assert.equal(stat.clientPacketsReceived, 1n);
    const keyRequest = packets2.find((p) => p.op === ProtocolOp.Packet && p.seq === 0);
    assert.ok(keyRequest && keyRequest.op === ProtocolOp.Packet, "no key request");
    // App opcode 2 without a flag byte: u32 LE 60, sixty 0xFF, u32 LE 1, u8 1.
    const expected = Uint8Array.of(2, 60, 0, 0, 0, ...new Array(60).fill(0xff), 1, 0, 0, 0, 1);
    assert.deepEqual([...keyRequest.data], [...expected]);

    // 3. The key reply + encrypted login request → an ack of seq 0 and the encrypted login reply.
    send(withCrc(keyReplyAndLogin!, key));
    const third = await receiver.until((got) => {
      const packets = all(got);
      return packets.some((p) => p.op === ProtocolOp.Ack && p.seq === 0) &&
        packets.some((p) => p.op === ProtocolOp.Packet && p.seq === 1);
    }, 15_000);
    const packets3 = all(third);
    assert.ok(packets3.some((p) => p.op === ProtocolOp.Ack && p.seq === 0), "no ack of seq 0");
    const reply = packets3.find((p) => p.op === ProtocolOp.Packet && p.seq === 1);
    assert.ok(reply && reply.op === ProtocolOp.Packet, "no login reply");

    // Decrypt with the key the captured client chose (the key reply's last 8 bytes, reversed).
    const captured = packetsOf(keyReplyAndLogin!, CAPTURE_CRC_KEY)[0]!;
    assert.ok(captured.op === ProtocolOp.Packet);
    const rc4Key = captured.data.slice(3 + 60, 3 + 68).reverse();
    const cipher = new Rc4(rc4Key, EQ2_RC4_DROP);
    const [encrypted] = appPackets(reply.data);
    assert.ok(encrypted);
    const plain = cipher.process(encrypted.slice());
    assert.equal(plain[0], 0, "flag byte: not compressed");
    assert.equal(plain[1], 4, "app opcode 4: login reply");
    const message = Eq2Login.decode(4, plain.subarray(2), 546);
    assert.equal(message.kind, "LoginReply");
    if (message.kind === "LoginReply") assert.equal(message.loginResponse, LoginResponse.Accepted);

    // 4. The client's ack of the server's seq 0, then a clean stop.
    send(withCrc(clientAck!, key));
    assert.equal(await server.stop("SIGTERM"), 0, server.log());
    assert.match(server.log(), /login: started eqstream="udp 127\.0\.0\.1:\d+"/);
  } finally {
    socket.close();
    await server.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
});
