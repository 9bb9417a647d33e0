/**
 * The operators' HTTP endpoint of a `qeynos serve` process: `GET /status.json` (every role's report and
 * its client sessions' statistics), `GET /metrics` (Prometheus text) and `POST /notify` (a server-wide
 * notice through the world role: `{"text": "…", "ttlSeconds": 60}`). Bind it to loopback or a private
 * network: it has no authentication.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Log, SocketAddress } from "../platform/platform.ts";
import { renderMetrics, type Report } from "./metrics.ts";

/** One role as the endpoint sees it. */
export interface AdminSource {
  report(): Report;
  /** Client sessions (EQStream) with their statistics. */
  sessions?(): readonly unknown[];
  /** Publishes a notice (the world role); returns its id. */
  notify?(text: string, ttlUs: number): number;
}

/** Options of {@linkcode startAdminServer}. */
export interface AdminOptions {
  /** Default "127.0.0.1". */
  readonly address?: string;
  readonly port: number;
  readonly sources: () => readonly AdminSource[];
  readonly log: Log;
  /** Sessions listed per role in /status.json, at most; default 500. */
  readonly maxSessions?: number;
}

/** A running endpoint. */
export interface AdminServer {
  readonly address: SocketAddress;
  close(): Promise<void>;
}

/** Largest POST body accepted. */
const MAX_BODY = 16 * 1024;

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  response.end(body);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error(`Request body exceeds ${MAX_BODY} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => {
      const all = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      resolve(new TextDecoder().decode(all));
    });
    request.on("error", reject);
  });
}

/** Starts the endpoint. */
export function startAdminServer(options: AdminOptions): Promise<AdminServer> {
  const maxSessions = options.maxSessions ?? 500;
  const server = createServer((request, response) => {
    void handle(request, response).catch((error) => {
      send(response, 500, "text/plain", `${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "GET" && path === "/status.json") {
      const roles = options.sources().map((s) => {
        const sessions = s.sessions?.() ?? [];
        return {
          ...s.report(),
          sessions: sessions.slice(0, maxSessions),
          ...(sessions.length > maxSessions ? { sessionsOmitted: sessions.length - maxSessions } : {}),
        };
      });
      send(response, 200, "application/json", JSON.stringify({ roles }, null, 2) + "\n");
      return;
    }
    if (request.method === "GET" && path === "/metrics") {
      send(response, 200, "text/plain; version=0.0.4", renderMetrics(options.sources().map((s) => s.report())));
      return;
    }
    if (request.method === "POST" && path === "/notify") {
      const world = options.sources().find((s) => s.notify !== undefined);
      if (world === undefined) return send(response, 404, "text/plain", "No world role in this process\n");
      let body: { text?: unknown; ttlSeconds?: unknown };
      try {
        body = JSON.parse(await readBody(request));
      } catch (error) {
        return send(response, 400, "text/plain", `Invalid body: ${error instanceof Error ? error.message : error}\n`);
      }
      const ttl = body.ttlSeconds === undefined ? 60 : body.ttlSeconds;
      if (typeof body.text !== "string" || body.text === "" || new TextEncoder().encode(body.text).length > 1024) {
        return send(response, 400, "text/plain", "Invalid body: text must be 1..1024 bytes\n");
      }
      if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 || ttl > 86_400 * 30) {
        return send(response, 400, "text/plain", "Invalid body: ttlSeconds must be an integer in 0..2592000\n");
      }
      const id = world.notify!(body.text, ttl * 1_000_000);
      send(response, 200, "application/json", JSON.stringify({ id }) + "\n");
      return;
    }
    send(response, 404, "text/plain", "Not found: try /status.json, /metrics or POST /notify\n");
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address ?? "127.0.0.1", () => {
      server.off("error", reject);
      const bound = server.address();
      const address = typeof bound === "object" && bound !== null
        ? { address: bound.address, port: bound.port }
        : { address: options.address ?? "127.0.0.1", port: options.port };
      options.log.info("admin: listening", { http: `${address.address}:${address.port}` });
      resolve({
        address,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}
