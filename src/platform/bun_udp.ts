import type { DatagramHandler, Log, Udp, UdpBindOptions, UdpSocket } from "./platform.ts";

/** The slice of Bun's UDP API used here (declared locally so `deno check` needs no Bun types). */
interface BunUdpSocket {
  readonly port: number;
  readonly hostname: string;
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}
interface BunUdpApi {
  udpSocket(options: {
    hostname?: string;
    port?: number;
    socket: {
      data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
      error?(error: Error): void;
    };
  }): Promise<BunUdpSocket>;
}

/** UDP through `Bun.udpSocket`. */
export function createBunUdp(log: Log): Udp {
  const bun = (globalThis as unknown as { Bun: BunUdpApi }).Bun;
  return {
    async bind(options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket> {
      const socket = await bun.udpSocket({
        hostname: options.address ?? "127.0.0.1",
        port: options.port ?? 0,
        socket: {
          data: (_socket, data, port, address) => onDatagram(data, address, port),
          // Bun reports each ICMP port-unreachable here (a peer went away): routine, not a warning.
          error: (error) => log.debug("UDP socket error", { error }),
        },
      });
      let closed = false;
      return {
        local: { address: socket.hostname, port: socket.port },
        send(bytes: Uint8Array, address: string, port: number): void {
          if (closed) return;
          try {
            socket.send(bytes, port, address);
          } catch (error) {
            // Bun throws ECONNREFUSED here after an ICMP port-unreachable from a peer that went away;
            // the contract is that a send never throws, so the datagram is just lost.
            log.debug("UDP send failed", { to: `${address}:${port}`, error });
          }
        },
        close(): void {
          if (closed) return;
          closed = true;
          socket.close();
        },
      };
    },
  };
}
