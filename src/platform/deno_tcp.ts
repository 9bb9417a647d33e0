import { createNodeTcp } from "./node_tcp.ts";
import type { Tcp, TcpConnection, TcpConnectOptions, TcpHandlers, TcpListener, TcpListenOptions } from "./platform.ts";

/** Bytes read at once. */
const READ_BYTES = 256 * 1024;
/** Queued write bytes above which `write` returns false (`drain` follows once they are flushed). */
const HIGH_WATER_BYTES = 256 * 1024;
/** Writes smaller than this are gathered into one buffer before the syscall. */
const GATHER_BYTES = 64 * 1024;
const DEFAULT_CONNECT_TIMEOUT_US = 10_000_000;

function wrap(conn: Deno.TcpConn): TcpConnection {
  conn.setNoDelay(true);
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  let handlers: TcpHandlers | undefined;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let writing = false;
  let wantDrain = false;
  let ending = false;
  let writeClosed = false;
  let closed = false;
  let readEnded = false;
  let failure: Error | undefined;

  const finish = (error?: Error) => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
    handlers?.close(error ?? failure);
  };

  const shutdownWrite = async () => {
    if (writeClosed) return;
    writeClosed = true;
    try {
      await conn.closeWrite();
    } catch {
      // the peer is gone: the read side reports it
    }
    if (readEnded) finish();
  };

  const flush = async () => {
    writing = true;
    try {
      while (queue.length > 0 && !closed) {
        // Gather small chunks: one syscall for many frames.
        let chunk: Uint8Array;
        if (queue.length > 1 && queue[0]!.length < GATHER_BYTES) {
          let size = 0;
          let count = 0;
          while (count < queue.length && size + queue[count]!.length <= GATHER_BYTES * 4) {
            size += queue[count++]!.length;
          }
          if (count <= 1) {
            chunk = queue.shift()!;
          } else {
            chunk = new Uint8Array(size);
            let at = 0;
            for (const part of queue.splice(0, count)) {
              chunk.set(part, at);
              at += part.length;
            }
          }
        } else {
          chunk = queue.shift()!;
        }
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
        queued -= chunk.length;
        if (wantDrain && queued < HIGH_WATER_BYTES / 2) {
          wantDrain = false;
          handlers?.drain();
        }
      }
    } catch (error) {
      failure ??= error as Error;
      finish(failure);
      return;
    } finally {
      writing = false;
    }
    if (ending) void shutdownWrite();
  };

  const readLoop = async () => {
    try {
      const buffer = new Uint8Array(READ_BYTES);
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        // The receiver owns what it is given: a copy of just the bytes read.
        handlers!.data(buffer.slice(0, n));
        if (closed) return;
      }
    } catch (error) {
      if (!closed) {
        failure ??= error as Error;
        finish(failure);
      }
      return;
    }
    readEnded = true;
    // A peer that ends its side has nothing more to say; finish ours so `close` follows.
    ending = true;
    if (writeClosed) finish();
    else if (!writing) void shutdownWrite();
  };

  return {
    local: { address: local.hostname, port: local.port },
    remote: { address: remote.hostname, port: remote.port },
    get bufferedBytes() {
      return queued;
    },
    start(h: TcpHandlers): void {
      if (handlers !== undefined) throw new Error("Cannot start TCP connection: already started");
      handlers = h;
      void readLoop();
    },
    write(bytes: Uint8Array): boolean {
      if (closed || ending) return false;
      queue.push(bytes);
      queued += bytes.length;
      if (!writing) void flush();
      if (queued >= HIGH_WATER_BYTES) {
        wantDrain = true;
        return false;
      }
      return true;
    },
    end(): void {
      if (closed || ending) return;
      ending = true;
      if (!writing) void shutdownWrite();
    },
    destroy(): void {
      queue.length = 0;
      finish();
    },
  };
}

/**
 * TCP through `Deno.listen`/`Deno.connect` (plain TCP only; TLS goes through `node:tls`).
 * Reads up to 256 KiB at a time (into one reused buffer, handing out copies) and gathers small
 * writes into one syscall. Raw small writes are much faster than through `node:net`, but once
 * servertalk batches its frames `node:net` carried more messages per second on Deno 2.9 with the
 * same latency (`qeynos bench servertalk --tcp deno|node`), so the Deno Platform keeps `node:net`.
 */
export function createDenoTcp(): Tcp {
  const tlsFallback = createNodeTcp();
  return {
    listen(options: TcpListenOptions, onConnection: (connection: TcpConnection) => void): Promise<TcpListener> {
      if (options.tls !== undefined) return tlsFallback.listen(options, onConnection);
      const listener = Deno.listen({ hostname: options.address ?? "127.0.0.1", port: options.port, transport: "tcp" });
      const bound = listener.addr as Deno.NetAddr;
      const open = new Set<TcpConnection>();
      let stopped = false;
      const done = (async () => {
        for (;;) {
          let conn: Deno.TcpConn;
          try {
            conn = await listener.accept();
          } catch {
            return; // listener closed
          }
          if (stopped) {
            conn.close();
            continue;
          }
          onConnection(wrap(conn));
        }
      })();
      return Promise.resolve({
        local: { address: bound.hostname, port: bound.port },
        async close(): Promise<void> {
          stopped = true;
          try {
            listener.close();
          } catch {
            // already closed
          }
          await done;
          open.clear();
        },
      });
    },

    async connect(options: TcpConnectOptions): Promise<TcpConnection> {
      if (options.tls !== undefined) return tlsFallback.connect(options);
      const timeoutMs = Math.ceil((options.timeoutUs ?? DEFAULT_CONNECT_TIMEOUT_US) / 1000);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const conn = await Deno.connect({
          hostname: options.address,
          port: options.port,
          transport: "tcp",
          signal: abort.signal,
        });
        return wrap(conn);
      } catch (error) {
        const reason = abort.signal.aborted ? `timed out after ${timeoutMs} ms` : (error as Error).message;
        throw new Error(`Cannot connect to ${options.address}:${options.port}: ${reason}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
