import type { DatagramHandler, Log, Udp, UdpBindOptions, UdpSocket } from "./platform.ts";

/** Largest datagram accepted by the receive loop (UDP over IPv4 cannot carry more). */
const RECEIVE_BUFFER_BYTES = 65_536;

function open(log: Log, options: UdpBindOptions, onDatagram: DatagramHandler): UdpSocket {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: options.address ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  const bound = conn.addr as Deno.NetAddr;
  let closed = false;
  (async () => {
    const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
    while (!closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await conn.receive(buffer);
      } catch (error) {
        if (!closed) log.warn("UDP receive failed", { error });
        return;
      }
      const [bytes, from] = received;
      const remote = from as Deno.NetAddr;
      // `bytes` views the shared buffer; the handler owns what it gets, so hand it a copy.
      onDatagram(bytes.slice(), remote.hostname, remote.port);
    }
  })();
  const onSendError = (error: unknown) => {
    if (!closed) log.debug("UDP send failed", { error });
  };
  return {
    local: { address: bound.hostname, port: bound.port },
    send(bytes: Uint8Array, address: string, port: number): void {
      if (closed) return;
      conn.send(bytes, { transport: "udp", hostname: address, port }).catch(onSendError);
    },
    close(): void {
      if (closed) return;
      closed = true;
      conn.close();
    },
  };
}

/** UDP through `Deno.listenDatagram` (needs the `net` unstable feature, set in deno.json). */
export function createDenoUdp(log: Log): Udp {
  return {
    // A throw inside the executor (address in use, say) becomes a rejection.
    bind: (options, onDatagram) => new Promise((resolve) => resolve(open(log, options, onDatagram))),
  };
}
