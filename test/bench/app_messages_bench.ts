/**
 * Throughput of the application-message codecs: encode and decode through a profile for the messages
 * a busy zone or login server handles most (movement, chat, world list, character list).
 * Prints one JSON line per message and direction.
 *
 *   deno run -A test/bench/app_messages_bench.ts      bun test/bench/app_messages_bench.ts
 */
import { runtimeName } from "../../src/platform/mod.ts";
import {
  ChatKind,
  Eq2Login,
  type Eq2LoginInput,
  QEYNOS_PROTOCOL_VERSION,
  type QeynosInput,
  QeynosWorld,
} from "../../src/roles/messages/mod.ts";

/** Runs `body` repeatedly for about `seconds` and returns calls per second. */
function measure(seconds: number, body: () => void): number {
  for (let i = 0; i < 2000; i++) body(); // warm up
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    for (let i = 0; i < 200; i++) body();
    calls += 200;
    elapsed = performance.now() - start;
  }
  return calls / (elapsed / 1000);
}

function report(name: string, direction: string, size: number, callsPerSec: number): void {
  console.log(JSON.stringify({
    bench: "app_messages",
    runtime: runtimeName(),
    name,
    direction,
    size,
    opsPerSec: Math.round(callsPerSec),
    usPerOp: Number((1e6 / callsPerSec).toFixed(2)),
  }));
}

const SECONDS = 0.5;
const V = QEYNOS_PROTOCOL_VERSION;

const qeynos: QeynosInput[] = [
  {
    kind: "MoveUpdate",
    spawnId: 12345,
    sequence: 99,
    serverTimeMs: 123456,
    position: { x: 1, y: 2, z: 3, heading: 1 },
  },
  {
    kind: "ChatReceived",
    channelKind: ChatKind.Say,
    messageId: 7,
    senderId: 12,
    senderName: "Bot12",
    channel: "",
    text: "hello there, how are you today?",
  },
];
for (const message of qeynos) {
  const { opcode, payload } = QeynosWorld.encode(message, V);
  report(message.kind, "encode", payload.length, measure(SECONDS, () => QeynosWorld.encode(message, V)));
  report(message.kind, "decode", payload.length, measure(SECONDS, () => QeynosWorld.decode(opcode, payload, V)));
}

const worlds = Array.from({ length: 4 }, (_, i) => ({ id: i + 1, name: `World${i}`, name2: `World${i}`, tag: 1 }));
const characters = Array.from({ length: 7 }, (_, i) => ({ charid: i, serverId: 1, name: `Char${i}`, level: 10 }));
const login: Eq2LoginInput[] = [
  { kind: "WorldList", worldList: worlds },
  { kind: "CharactersReply", characters, accountId: 1, maxChars: 7 },
];
for (const message of login) {
  const { opcode, payload } = Eq2Login.encode(message, 546);
  report(message.kind, "encode", payload.length, measure(SECONDS, () => Eq2Login.encode(message, 546)));
  report(message.kind, "decode", payload.length, measure(SECONDS, () => Eq2Login.decode(opcode, payload, 546)));
}
