/**
 * Two (and more) Qeynos processes on loopback: a login server and worlds started with
 * `qeynos servertalk serve|world`, killed and restarted, plus every bad-credential case, each
 * refused with its code. Runs the CLI under the runtime running the tests.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Goodbye } from "../../src/servertalk/control.ts";
import { FrameDecoder, FrameFlag, writeFrameHeader } from "../../src/servertalk/frame.ts";
import { LSStatus } from "../../src/servertalk/messages.ts";
import { Opcode } from "../../src/servertalk/opcodes.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const RUNTIME_ARGS = "Deno" in globalThis ? ["run", "-A", MAIN] : [MAIN];

type Event = Record<string, unknown> & { event: string };

class Qeynos {
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #waiters: Array<() => void> = [];
  stderr = "";

  constructor(args: string[]) {
    this.#child = spawn(process.execPath, [...RUNTIME_ARGS, "servertalk", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let pending = "";
    this.#child.stdout!.on("data", (chunk: Uint8Array) => {
      pending += new TextDecoder().decode(chunk);
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== "") this.events.push(JSON.parse(line));
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.stderr!.on("data", (chunk: Uint8Array) => void (this.stderr += new TextDecoder().decode(chunk)));
    this.exited = new Promise((resolve) => this.#child.on("exit", (code) => resolve(code)));
  }

  /** The first event (from `from` on) matching `match`, waiting up to `timeoutMs`. */
  async waitFor(match: Partial<Event>, options: { from?: number; timeoutMs?: number } = {}): Promise<Event> {
    const deadline = performance.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const found = this.events.slice(options.from ?? 0).find((e) =>
        Object.entries(match).every(([k, v]) => e[k] === v)
      );
      if (found !== undefined) return found;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${JSON.stringify(match)}; saw ${JSON.stringify(this.events)}\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: "SIGKILL" | "SIGTERM"): Promise<number | null> {
    this.#child.kill(signal);
    return this.exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const ACCOUNTS = [
  "--account",
  "world1:pw-one:world",
  "--account",
  "world2:pw-two:world",
  "--account",
  "retired:pw-old:world:disabled",
  "--account",
  "zone1:pw-zone:zone",
];

function world(port: number, name: string, account: string, password: string, extra: string[] = []): Qeynos {
  return new Qeynos([
    "world",
    "--target",
    `127.0.0.1:${port}`,
    "--name",
    name,
    "--account",
    account,
    "--password",
    password,
    "--status-every",
    "100",
    ...extra,
  ]);
}

/** Starts a world that must be refused; resolves to its refusal code (and checks it exits 1). */
async function refusedCode(port: number, name: string, account: string, password: string, extra: string[] = []) {
  const peer = world(port, name, account, password, ["--no-reconnect", ...extra]);
  const refused = await peer.waitFor({ event: "refused" });
  assert.equal(await peer.exited, 1, `${name} exits 1`);
  return refused.code;
}

test("two Qeynos processes register, exchange requests and notices, survive killed peers, and refuse bad credentials", {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const processes: Qeynos[] = [];
  const track = (q: Qeynos) => (processes.push(q), q);
  try {
    let login = track(new Qeynos(["serve", "--port", String(port), ...ACCOUNTS, "--notice", "Maintenance at 03:00"]));
    await login.waitFor({ event: "listening", port });

    // Register, typed requests both ways, one-way status, and the live notice.
    const alpha = track(world(port, "alpha", "world1", "pw-one", ["--players", "7"]));
    await login.waitFor({ event: "registered", name: "alpha", worlds: 1 });
    await login.waitFor({ event: "user_to_world", name: "alpha", response: 1 });
    await login.waitFor({ event: "status", name: "alpha", players: 7 });
    await alpha.waitFor({ event: "registered", worldId: 1 });
    await alpha.waitFor({ event: "admitted" });
    await alpha.waitFor({ event: "notice", text: "Maintenance at 03:00" });

    // A killed world: login drops it at once; its restart registers again, once.
    await alpha.kill("SIGKILL");
    await login.waitFor({ event: "disconnected", name: "alpha", code: "SERVERTALK_CONNECTION_LOST", worlds: 0 });
    let mark = login.events.length;
    const alpha2 = track(world(port, "alpha", "world1", "pw-one", ["--players", "8"]));
    await login.waitFor({ event: "registered", name: "alpha", worlds: 1 }, { from: mark });
    await login.waitFor({ event: "status", name: "alpha", players: 8 }, { from: mark });

    // Every bad credential case, each with its code.
    assert.equal(await refusedCode(port, "beta", "world2", "wrong"), "SERVERTALK_AUTH_BAD_CREDENTIALS");
    assert.equal(await refusedCode(port, "beta", "nobody", "pw"), "SERVERTALK_AUTH_BAD_CREDENTIALS");
    assert.equal(await refusedCode(port, "beta", "retired", "pw-old"), "SERVERTALK_AUTH_DISABLED");
    assert.equal(await refusedCode(port, "beta", "zone1", "pw-zone"), "SERVERTALK_AUTH_ROLE_NOT_ALLOWED");
    assert.equal(await refusedCode(port, "alpha", "world2", "pw-two"), "SERVERTALK_AUTH_DUPLICATE_NAME");
    assert.equal(
      await refusedCode(port, "beta", "world2", "pw-two", ["--protocol-version", "99"]),
      "SERVERTALK_VERSION_MISMATCH",
    );
    // Anything before the hello.
    const goodbye = await rawBeforeHello(port);
    assert.equal(goodbye, "SERVERTALK_NOT_AUTHENTICATED");
    // The holder of "alpha" was never evicted.
    assert.ok(!login.events.slice(mark).some((e) => e.event === "disconnected" && e.name === "alpha"));
    // Five failures from this address (the duplicate above authenticated, which cleared the earlier
    // ones): even good credentials are refused now.
    for (let i = 0; i < 5; i++) {
      assert.equal(await refusedCode(port, "beta", "world2", `guess-${i}`), "SERVERTALK_AUTH_BAD_CREDENTIALS");
    }
    assert.equal(await refusedCode(port, "beta", "world2", "pw-two"), "SERVERTALK_AUTH_LOCKED_OUT");

    // A killed login: the world notices, reconnects to the restarted login and registers again.
    mark = alpha2.events.length;
    await login.kill("SIGKILL");
    await alpha2.waitFor({ event: "disconnected" }, { from: mark });
    login = track(new Qeynos(["serve", "--port", String(port), ...ACCOUNTS]));
    await login.waitFor({ event: "listening", port });
    await login.waitFor({ event: "registered", name: "alpha", worlds: 1 });
    await alpha2.waitFor({ event: "registered", worldId: 1 }, { from: mark });
    assert.equal(login.events.filter((e) => e.event === "registered").length, 1);

    // A banned address, and a server that requires authentication but has no accounts.
    const bannedPort = await freePort();
    const banning = track(new Qeynos(["serve", "--port", String(bannedPort), ...ACCOUNTS, "--ban", "127.0.0.1"]));
    await banning.waitFor({ event: "listening" });
    assert.equal(await refusedCode(bannedPort, "gamma", "world2", "pw-two"), "SERVERTALK_AUTH_BANNED");
    const closedPort = await freePort();
    const closed = track(new Qeynos(["serve", "--port", String(closedPort)]));
    await closed.waitFor({ event: "listening" });
    assert.equal(await refusedCode(closedPort, "gamma", "world2", "pw-two"), "SERVERTALK_AUTH_UNAVAILABLE");

    // A graceful stop unregisters.
    mark = alpha2.events.length;
    const loginMark = login.events.length;
    await alpha2.kill("SIGTERM");
    await alpha2.waitFor({ event: "stopped" }, { from: mark });
    await login.waitFor({ event: "unregistered", name: "alpha", worlds: 0 }, { from: loginMark });
  } finally {
    for (const q of processes) q.kill("SIGKILL");
    await Promise.all(processes.map((q) => q.exited));
  }
});

/** Sends a one-way message as the first frame; resolves to the code of the goodbye that answers it. */
function rawBeforeHello(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Uint8Array) => {
      decoder.push(chunk, (opcode, _flags, _id, payload) => {
        if (opcode === Opcode.Goodbye) {
          resolve(Goodbye.decode(payload).code);
          socket.destroy();
        }
      });
    });
    socket.on("error", reject);
    socket.on("connect", () => {
      const payload = LSStatus.encode({ status: 1, numPlayers: 0, numZones: 0, worldMaxLevel: 1 });
      const w = new ByteWriter();
      writeFrameHeader(w, { opcode: Opcode.LSStatus, flags: FrameFlag.Notify, id: 0, payloadLength: payload.length });
      socket.write(w.bytes(payload).toBytes());
    });
  });
}
