/**
 * Workloads for scenario files: the registry, and every built-in workload (importing this module
 * registers them). A workload defined elsewhere registers itself on import; add that import to
 * `sim/workloads/all.ts` so the `qeynos scenario` command knows it.
 * @module
 */
export { getWorkload, listWorkloads, registerWorkload, type WorkloadDefinition } from "./registry.ts";
export type { EchoConfig, EchoLivenessParams, EchoReply } from "./echo.ts";
import "./echo.ts";
