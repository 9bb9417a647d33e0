/**
 * Congestion controllers for the EQStream sender.
 * @module
 */
import { Bbr } from "./bbr.ts";
import type { CongestionControl, CongestionControlFactory, CongestionControlInit } from "./congestion_control.ts";
import { NewReno } from "./new_reno.ts";

export type * from "./congestion_control.ts";
export { Bbr } from "./bbr.ts";
export { NewReno } from "./new_reno.ts";

/** Builds the named controller ("bbr" or "newreno") or calls a factory. */
export function createCongestionControl(
  choice: "bbr" | "newreno" | CongestionControlFactory,
  init: CongestionControlInit,
): CongestionControl {
  if (typeof choice === "function") return choice(init);
  return choice === "newreno" ? new NewReno(init) : new Bbr(init);
}
