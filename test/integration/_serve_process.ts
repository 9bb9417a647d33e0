/**
 * Starts `qeynos serve` as a child process (Deno or Bun, whichever runs the tests) and waits until it
 * logs that it is ready; stops it with SIGTERM and reports how it exited.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { runtimeName } from "../../src/platform/mod.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A running `qeynos serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to standard error so far. */
  log(): string;
  /** Resolves when a line matching `pattern` appears (rejects after `timeoutMs` or when it exits). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (or `signal`), then the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** Starts `qeynos <args>` from the repository root. */
export function startQeynos(args: readonly string[], env: Record<string, string> = {}): ServeProcess {
  const argv = runtimeName() === "deno" ? ["run", "-A", "src/main.ts", ...args] : ["src/main.ts", ...args];
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Uint8Array) => {
    text += new TextDecoder().decode(chunk);
    for (const listener of listeners) listener();
  };
  child.stderr!.on("data", onData);
  child.stdout!.on("data", onData);
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      exited = code;
      for (const listener of listeners) listener();
      resolve(code);
    });
  });
  return {
    child,
    log: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = text.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          } else if (exited !== undefined) {
            done();
            reject(new Error(`qeynos exited (${exited}) before logging ${pattern}:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`qeynos did not log ${pattern} within ${timeoutMs} ms:\n${text}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 30_000) {
      if (exited !== undefined) return exited;
      // process.kill rather than child.kill: Deno reports a child it signalled itself as killed by
      // that signal, even when the child handled it and exited normally.
      process.kill(child.pid!, signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Ports for test servers come from below Linux's ephemeral range (32768–60999): a port picked there
 * and released can be taken by any outgoing connection before the server binds it (a role's own
 * servertalk client once took its world's port). Each process starts at its own offset.
 */
const PICK_FROM = 20_000;
const PICK_SPAN = 12_000;
let nextPick = (process.pid * 97) % PICK_SPAN;

/** Binds `port` with `probe` and releases it; resolves whether that worked. */
type Probe = (port: number) => Promise<boolean>;

const probeUdp: Probe = (port) =>
  new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });

const probeTcp: Probe = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

async function pickPort(probe: Probe): Promise<number> {
  for (let tries = 0; tries < PICK_SPAN; tries++) {
    const port = PICK_FROM + (nextPick++ % PICK_SPAN);
    if (await probe(port)) return port;
  }
  throw new Error(`No free port in ${PICK_FROM}–${PICK_FROM + PICK_SPAN - 1}`);
}

/** A UDP port that was free a moment ago (outside the ephemeral range). */
export function freeUdpPort(): Promise<number> {
  return pickPort(probeUdp);
}

/** A TCP port that was free a moment ago (outside the ephemeral range). */
export function freeTcpPort(): Promise<number> {
  return pickPort(probeTcp);
}
