import net from "node:net";
import tls from "node:tls";
import type { Tcp, TcpConnection, TcpConnectOptions, TcpHandlers, TcpListener, TcpListenOptions } from "./platform.ts";

const DEFAULT_CONNECT_TIMEOUT_US = 10_000_000;

function wrap(socket: net.Socket): TcpConnection {
  socket.setNoDelay(true);
  let started = false;
  return {
    local: { address: socket.localAddress ?? "", port: socket.localPort ?? 0 },
    remote: { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
    get bufferedBytes() {
      return socket.writableLength;
    },
    start(handlers: TcpHandlers): void {
      if (started) throw new Error("Cannot start TCP connection: already started");
      started = true;
      let lastError: Error | undefined;
      socket.on("error", (error) => {
        lastError = error;
      });
      socket.on("close", () => handlers.close(lastError));
      socket.on("drain", () => handlers.drain());
      socket.on("data", (chunk: Uint8Array) => handlers.data(chunk));
      // A peer that ends its side has nothing more to say; finish ours so `close` follows.
      socket.on("end", () => socket.end());
    },
    write: (bytes) => socket.write(bytes),
    end: () => void socket.end(),
    destroy: () => void socket.destroy(),
  };
}

/** TCP and TLS through `node:net` and `node:tls` (works on Node, Bun and Deno). */
export function createNodeTcp(): Tcp {
  return {
    listen(options: TcpListenOptions, onConnection: (connection: TcpConnection) => void): Promise<TcpListener> {
      const accept = (socket: net.Socket) => onConnection(wrap(socket));
      const server = options.tls === undefined
        ? net.createServer({ pauseOnConnect: false }, accept)
        : tls.createServer({ cert: options.tls.cert, key: options.tls.key }, accept);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port, options.address ?? "127.0.0.1", () => {
          server.off("error", reject);
          const bound = server.address() as net.AddressInfo;
          resolve({
            local: { address: bound.address, port: bound.port },
            close: () => new Promise<void>((done) => server.close(() => done())),
          });
        });
      });
    },

    connect(options: TcpConnectOptions): Promise<TcpConnection> {
      return new Promise((resolve, reject) => {
        const socket = options.tls === undefined
          ? net.connect({ host: options.address, port: options.port })
          : tls.connect({
            host: options.address,
            port: options.port,
            servername: options.tls.serverName ?? options.address,
            ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
          });
        const timeoutMs = Math.ceil((options.timeoutUs ?? DEFAULT_CONNECT_TIMEOUT_US) / 1000);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`Cannot connect to ${options.address}:${options.port}: timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        const fail = (error: Error) => {
          clearTimeout(timer);
          reject(new Error(`Cannot connect to ${options.address}:${options.port}: ${error.message}`, { cause: error }));
        };
        socket.once("error", fail);
        socket.once(options.tls === undefined ? "connect" : "secureConnect", () => {
          clearTimeout(timer);
          socket.off("error", fail);
          resolve(wrap(socket));
        });
      });
    },
  };
}
