/**
 * `qeynos netem`'s UDP impairment proxy.
 * @module
 */
export { type NetemDirection, type NetemOptions, NetemProxy, type NetemStats } from "./proxy.ts";
