/**
 * fast-check integration for the simulator: arbitraries for link specs and fault plans (as data,
 * so failures shrink), and {@linkcode runPlan} to build and run a simulation from them.
 * @module
 */
export {
  arbDelay,
  arbFaultPlan,
  arbLinkSpec,
  arbLoss,
  type FaultPlanConstraints,
  type FaultStep,
  type FaultStepKind,
  type LinkSpecConstraints,
} from "./arbitraries.ts";
export { type PlanRun, runPlan, type SimPlan } from "./run_plan.ts";
