/**
 * A map keyed by address and port without building a key string per lookup: a server looks up
 * every datagram's sender, and a fresh `"address:port"` string costs a concatenation and a hash
 * each time (the address string itself is usually the same object, its hash cached).
 * @module
 */

/** Values by (address, port). */
export class AddressMap<V> {
  readonly #byAddress = new Map<string, Map<number, V>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(address: string, port: number): V | undefined {
    return this.#byAddress.get(address)?.get(port);
  }

  set(address: string, port: number, value: V): void {
    let ports = this.#byAddress.get(address);
    if (ports === undefined) {
      ports = new Map();
      this.#byAddress.set(address, ports);
    }
    if (!ports.has(port)) this.#size++;
    ports.set(port, value);
  }

  delete(address: string, port: number): boolean {
    const ports = this.#byAddress.get(address);
    if (ports === undefined || !ports.delete(port)) return false;
    this.#size--;
    if (ports.size === 0) this.#byAddress.delete(address);
    return true;
  }

  *values(): IterableIterator<V> {
    for (const ports of this.#byAddress.values()) yield* ports.values();
  }
}
