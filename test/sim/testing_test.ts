import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { validateLinkSpec } from "../../sim/mod.ts";
import { arbFaultPlan, arbLinkSpec, runPlan } from "../../sim/testing/mod.ts";
import { propertyParameters } from "../_support/property.ts";

test("every generated link spec is valid", () => {
  fc.assert(fc.property(arbLinkSpec(), (spec) => void validateLinkSpec(spec)), propertyParameters(500));
});

test("generated fault plans stay within their bounds", () => {
  fc.assert(
    fc.property(arbFaultPlan({ hosts: 4, chaosUs: 1_000_000, maxFaults: 8, maxForUs: 200_000 }), (plan) => {
      assert.ok(plan.length <= 8);
      for (const step of plan) {
        assert.ok(step.atUs >= 0 && step.atUs < 1_000_000);
        if ("forUs" in step) assert.ok(step.forUs >= 1 && step.forUs <= 200_000);
        if ("host" in step) assert.ok(step.host >= 0 && step.host < 4);
        if ("from" in step) assert.ok(step.from !== step.to && step.to < 4);
        if (step.kind === "partition") assert.ok(step.cut.includes(0) && step.cut.includes(1));
      }
    }),
    propertyParameters(300),
  );
});

test("a failing fault-plan property shrinks to a single small fault", async () => {
  // A deliberately false claim: "a crash never loses a datagram". The counterexample must shrink.
  const outcome = await fc.check(
    fc.asyncProperty(arbFaultPlan({ hosts: 2, chaosUs: 100_000, maxFaults: 6 }), async (faults) => {
      let got = 0;
      await runPlan({ seed: 1, hosts: ["a", "b"], faults, chaosUs: 100_000, untilUs: 200_000 }, (sim) => {
        sim.onStart("b", async (p) => void await p.udp.bind({ port: 9 }, () => got++));
        sim.onStart("a", async (p) => {
          const s = await p.udp.bind({}, () => {});
          const tick = (n: number) => {
            s.send(new Uint8Array(1), sim.address("b"), 9);
            if (n < 99) p.timers.setTimeout(() => tick(n + 1), 1000);
          };
          tick(0);
        });
      });
      return got === 100;
    }),
    propertyParameters(200, { endOnFailure: false }),
  );
  assert.equal(outcome.failed, true);
  const [plan] = outcome.counterexample!;
  assert.equal(plan.length, 1, JSON.stringify(plan));
});
