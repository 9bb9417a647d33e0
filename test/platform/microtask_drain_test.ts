import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate } from "node:timers";
import { syncMicrotaskDrain } from "../../src/platform/microtask_drain.ts";

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "other";

/** Runs `body` in a macrotask: V8 drains microtasks only outside a running one. */
function inMacrotask<T>(body: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(body());
      } catch (error) {
        reject(error);
      }
    })
  );
}

test("both runtimes offer a synchronous microtask drain (the simulator relies on it for speed)", () => {
  if (runtime === "other") return;
  assert.equal(typeof syncMicrotaskDrain(), "function", `no drain found on ${runtime}`);
  assert.equal(syncMicrotaskDrain(), syncMicrotaskDrain());
});

test("the drain runs whole chains, including continuations queued while it runs", async () => {
  const drain = syncMicrotaskDrain();
  if (drain === undefined) return;
  const order = await inMacrotask(() => {
    const order: string[] = [];
    const chain = async (name: string, depth: number) => {
      for (let i = 0; i < depth; i++) await null;
      order.push(name);
      queueMicrotask(() => order.push(`${name}+task`));
    };
    void chain("deep", 50);
    void chain("shallow", 1);
    Promise.reject(new Error("handled")).catch(() => order.push("caught"));
    assert.deepEqual(order, []);
    assert.equal(drain(), true);
    return order;
  });
  assert.deepEqual(order, ["shallow", "caught", "shallow+task", "deep", "deep+task"]);
});

test("a drain the runtime declines (inside a running microtask) says so instead of pretending", async () => {
  const drain = syncMicrotaskDrain();
  if (drain === undefined) return;
  await null;
  let ran = false;
  queueMicrotask(() => (ran = true));
  // V8 declines here; JavaScriptCore drains. Either way the answer matches what happened.
  assert.equal(drain(), ran);
});
