/**
 * What every `Tcp` adapter must do, as one suite each adapter's test file runs: ordered delivery with
 * nothing lost before `start()`, one `close` per side, back-pressure and `drain`, `destroy`, and a clear
 * refusal from a closed port.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Tcp, TcpConnection } from "../../src/platform/platform.ts";

/** Registers the conformance tests for the adapter `make` builds, named after `adapter`. */
export function tcpConformance(
  adapter: string,
  make: () => Promise<Tcp> | Tcp,
  options: { skip?: boolean } = {},
): void {
  const skip = options.skip ?? false;

  test(`${adapter} TCP adapter delivers bytes in order, and close fires once on each side`, { skip }, async () => {
    const tcp = await make();
    const serverClosed = Promise.withResolvers<Error | undefined>();
    const received: number[] = [];
    const listener = await tcp.listen({ port: 0 }, (connection) => {
      // Data sent before start() must not be lost.
      setTimeout(() => {
        connection.start({
          data: (bytes) => received.push(...bytes),
          drain() {},
          close: (error) => serverClosed.resolve(error),
        });
      }, 20);
    });
    const client = await tcp.connect({ address: "127.0.0.1", port: listener.local.port });
    let clientCloses = 0;
    const clientClosed = Promise.withResolvers<void>();
    client.start({
      data() {},
      drain() {},
      close: () => {
        clientCloses++;
        clientClosed.resolve();
      },
    });
    for (let i = 0; i < 100; i++) client.write(Uint8Array.of(i));
    client.end();
    assert.equal(await serverClosed.promise, undefined);
    await clientClosed.promise;
    assert.deepEqual(received, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(clientCloses, 1);
    assert.equal(client.remote.port, listener.local.port);
    await listener.close();
  });

  test(`${adapter} TCP adapter reports back-pressure and drains`, { skip }, async () => {
    const tcp = await make();
    let server: TcpConnection | undefined;
    const accepted = Promise.withResolvers<void>();
    const listener = await tcp.listen({ port: 0 }, (connection) => {
      server = connection; // not started: the peer reads nothing, so the sender's buffer fills
      accepted.resolve();
    });
    const client = await tcp.connect({ address: "127.0.0.1", port: listener.local.port });
    const drained = Promise.withResolvers<void>();
    client.start({ data() {}, drain: () => drained.resolve(), close() {} });
    await accepted.promise;
    const chunk = new Uint8Array(1 << 20);
    let writes = 0;
    while (client.write(chunk)) writes++;
    assert.ok(writes < 1000, "write() never reported back-pressure");
    assert.ok(client.bufferedBytes > 0);
    server!.start({ data() {}, drain() {}, close() {} });
    await drained.promise;
    client.destroy();
    server!.destroy();
    await listener.close();
  });

  test(`${adapter} TCP adapter: destroy closes both sides, and a closed port refuses with a clear message`, {
    skip,
  }, async () => {
    const tcp = await make();
    const serverClosed = Promise.withResolvers<void>();
    const listener = await tcp.listen({ port: 0 }, (connection) => {
      connection.start({ data() {}, drain() {}, close: () => serverClosed.resolve() });
    });
    const client = await tcp.connect({ address: "127.0.0.1", port: listener.local.port });
    const clientClosed = Promise.withResolvers<void>();
    client.start({ data() {}, drain() {}, close: () => clientClosed.resolve() });
    client.destroy();
    await clientClosed.promise;
    await serverClosed.promise;
    assert.equal(client.write(Uint8Array.of(1)), false);
    const port = listener.local.port;
    await listener.close();
    await assert.rejects(tcp.connect({ address: "127.0.0.1", port }), (error: Error) => {
      assert.match(error.message, new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: `));
      return true;
    });
  });
}
