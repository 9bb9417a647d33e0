import process from "node:process";
import { createConsoleLog, createRealPlatform, runtimeName } from "../platform/mod.ts";
import { VERSION } from "../version.ts";
import { lz4Compress, lz4Decompress } from "../wire/lz4.ts";
import { ZlibDeflater, ZlibInflater } from "../wire/zlib_stream.ts";
import { type Command, parseFlags } from "./command.ts";

const HELP = `Usage: qeynos doctor [--json]

Checks that this build works on this machine: the runtime, LZ4 and zlib codecs,
the embedded SQLite driver, and UDP and TCP sockets on loopback.

Options:
  --json      print one JSON object instead of a table
  -h, --help  show this help`;

interface Finding {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function attempt(check: string, body: () => Promise<string> | string): Promise<Finding> {
  try {
    return { check, ok: true, detail: await body() };
  } catch (error) {
    return { check, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after 2 s`)), 2000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `qeynos doctor`: a self-test of the runtime pieces Qeynos depends on. */
export const doctorCommand: Command = {
  name: "doctor",
  summary: "check that codecs, SQLite and loopback sockets work here",
  help: HELP,
  async run(args) {
    const values = parseFlags(args, { json: { type: "boolean" } }, HELP);
    if (values === undefined) return 0;
    const platform = createRealPlatform(createConsoleLog({ level: "error" }));
    const sample = new TextEncoder().encode("qeynos doctor ".repeat(64));

    const findings: Finding[] = [
      {
        check: "runtime",
        ok: true,
        detail: `${runtimeName()} ${process.versions[runtimeName()] ?? process.version}, qeynos ${VERSION}`,
      },
      await attempt("lz4", () => {
        const packed = lz4Compress(sample);
        if (lz4Decompress(packed).join() !== sample.join()) throw new Error("round trip changed the bytes");
        return `${sample.length} B -> ${packed.length} B and back`;
      }),
      await attempt("zlib", () => {
        const packed = new ZlibDeflater().deflate(sample);
        if (new ZlibInflater().inflate(packed).join() !== sample.join()) {
          throw new Error("round trip changed the bytes");
        }
        return `${sample.length} B -> ${packed.length} B and back`;
      }),
      await attempt("sqlite", async () => {
        const { DatabaseSync } = await import("node:sqlite");
        const db = new DatabaseSync(":memory:");
        const row = db.prepare("select sqlite_version() as version").get() as { version: string };
        db.close();
        return `node:sqlite, SQLite ${row.version}`;
      }),
      await attempt("udp", async () => {
        const echo = await platform.udp.bind({}, (bytes, address, port) => echo.send(bytes, address, port));
        const answered = Promise.withResolvers<void>();
        const client = await platform.udp.bind({}, () => answered.resolve());
        try {
          client.send(sample.subarray(0, 100), echo.local.address, echo.local.port);
          await withTimeout(answered.promise, "UDP echo");
          return `echo over ${echo.local.address} with the ${platform.name} adapter`;
        } finally {
          client.close();
          echo.close();
        }
      }),
      await attempt("tcp", async () => {
        const listener = await platform.tcp.listen({ port: 0 }, (connection) => {
          connection.start({ data: (bytes) => connection.write(bytes), drain() {}, close() {} });
        });
        const connection = await platform.tcp.connect(listener.local);
        try {
          const answered = Promise.withResolvers<void>();
          connection.start({ data: () => answered.resolve(), drain() {}, close() {} });
          connection.write(sample.subarray(0, 100));
          await withTimeout(answered.promise, "TCP echo");
          return `echo over ${listener.local.address}`;
        } finally {
          connection.destroy();
          await listener.close();
        }
      }),
    ];

    if (values.json) console.log(JSON.stringify({ ok: findings.every((f) => f.ok), findings }));
    else for (const f of findings) console.log(`${f.ok ? "ok  " : "FAIL"} ${f.check.padEnd(8)} ${f.detail}`);
    return findings.every((f) => f.ok) ? 0 : 1;
  },
};
