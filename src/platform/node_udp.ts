import dgram from "node:dgram";
import type { DatagramHandler, Log, Udp, UdpBindOptions, UdpSocket } from "./platform.ts";

/** Kernel socket buffers asked for, so bursts at high packet rates are not dropped by the kernel. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** UDP through `node:dgram` (works on Node, Bun and Deno). */
export function createNodeUdp(log: Log): Udp {
  return {
    bind(options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket> {
      const address = options.address ?? "127.0.0.1";
      const socket = dgram.createSocket({ type: address.includes(":") ? "udp6" : "udp4" });
      return new Promise((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(options.port ?? 0, address, () => {
          socket.off("error", reject);
          socket.on("error", (error) => log.warn("UDP socket error", { error }));
          try {
            socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
            socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
          } catch {
            // Some runtimes do not implement buffer sizing; the defaults still work.
          }
          socket.on("message", (bytes, remote) => onDatagram(bytes, remote.address, remote.port));
          const bound = socket.address();
          let closed = false;
          resolve({
            local: { address: bound.address, port: bound.port },
            send(bytes: Uint8Array, toAddress: string, toPort: number): void {
              if (closed) return;
              try {
                socket.send(bytes, toPort, toAddress);
              } catch (error) {
                log.debug("UDP send failed", { to: `${toAddress}:${toPort}`, error });
              }
            },
            close(): void {
              if (closed) return;
              closed = true;
              socket.close();
            },
          });
        });
      });
    },
  };
}
