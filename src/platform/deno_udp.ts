import type { DatagramHandler, Log, Udp, UdpBindOptions, UdpSocket } from "./platform.ts";

/** Largest datagram accepted by the receive loop (UDP over IPv4 cannot carry more). */
const RECEIVE_BUFFER_BYTES = 65_536;

/**
 * Deno 2.9 sends the datagrams of a fresh socket's first burst in reverse order (measured: ten sends
 * in one turn arrive 9…0; later bursts keep their order). One empty datagram to ourselves, sent and
 * received before the socket is handed out, gets that first burst out of the way.
 */
async function warmUp(conn: Deno.DatagramConn, self: Deno.NetAddr, onDatagram: DatagramHandler): Promise<void> {
  await conn.send(new Uint8Array(0), { transport: "udp", hostname: self.hostname, port: self.port });
  const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
  for (;;) {
    const [bytes, from] = await conn.receive(buffer);
    const remote = from as Deno.NetAddr;
    if (bytes.length === 0 && remote.port === self.port && remote.hostname === self.hostname) return;
    onDatagram(bytes.slice(), remote.hostname, remote.port);
  }
}

async function open(log: Log, options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket> {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: options.address ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  const bound = conn.addr as Deno.NetAddr;
  // A wildcard address cannot be sent to: warm up through the loopback address of its family.
  const self = bound.hostname === "0.0.0.0"
    ? { ...bound, hostname: "127.0.0.1" }
    : bound.hostname === "::"
    ? { ...bound, hostname: "::1" }
    : bound;
  await warmUp(conn, self, onDatagram);
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
    bind: (options, onDatagram) => open(log, options, onDatagram),
  };
}
