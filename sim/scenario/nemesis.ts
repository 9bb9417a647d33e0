/**
 * Turns `nemesis` entries (random faults at a rate) into concrete faults for one seed. Each entry
 * draws from its own stream, so adding an entry does not move the others' faults.
 * @module
 */
import type { SimRng } from "../rng.ts";
import type { Fault, NemesisSpec } from "./types.ts";

/** Samples the faults of every nemesis entry during `[0, chaosUs)`. */
export function sampleNemesis(
  specs: readonly NemesisSpec[],
  rngFor: (name: string) => SimRng,
  chaosUs: number,
): Fault[] {
  const faults: Fault[] = [];
  specs.forEach((spec, index) => {
    const rng = rngFor(`nemesis:${index}:${spec.kind}`);
    const meanGapUs = 1e6 / spec.ratePerSec;
    for (
      let t = Math.round(rng.exponential(meanGapUs));
      t < chaosUs;
      t += Math.max(1, Math.round(rng.exponential(meanGapUs)))
    ) {
      const [low, high] = spec.durationUs;
      const forUs = Math.round(low + rng.float() * (high - low));
      const fault = sampleOne(spec, rng, t, forUs);
      if (fault !== undefined) faults.push(fault);
    }
  });
  return faults.sort((a, b) => a.atUs - b.atUs);
}

function pick<T>(rng: SimRng, items: readonly T[]): T {
  return items[rng.below(items.length)]!;
}

function pickPair(rng: SimRng, hosts: readonly string[]): [string, string] {
  const from = rng.below(hosts.length);
  const to = (from + 1 + rng.below(hosts.length - 1)) % hosts.length;
  return [hosts[from]!, hosts[to]!];
}

function sampleOne(spec: NemesisSpec, rng: SimRng, atUs: number, forUs: number): Fault | undefined {
  const base = { atUs, source: "nemesis" as const, line: spec.line };
  const hosts = spec.hosts;
  switch (spec.kind) {
    case "partition": {
      const shuffled = [...hosts];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const cut = 1 + rng.below(shuffled.length - 1);
      return {
        ...base,
        forUs: Math.max(1, forUs),
        action: { kind: "partition", groups: [shuffled.slice(0, cut), shuffled.slice(cut)], oneWay: spec.oneWay },
      };
    }
    case "crash":
      return {
        ...base,
        forUs: Math.max(1, forUs),
        action: { kind: "crash", hosts: [pick(rng, hosts)], silent: spec.silent },
      };
    case "pause":
      return { ...base, forUs: Math.max(1, forUs), action: { kind: "pause", hosts: [pick(rng, hosts)] } };
    case "clog": {
      const [from, to] = pickPair(rng, hosts);
      return { ...base, forUs: Math.max(1, forUs), action: { kind: "clog", from: [from], to: [to] } };
    }
    case "link": {
      const [from, to] = pickPair(rng, hosts);
      return {
        ...base,
        forUs: Math.max(1, forUs),
        action: { kind: "link", from: [from], to: [to], spec: spec.spec ?? {} },
      };
    }
    case "resetTcp":
      return { ...base, action: { kind: "resetTcp", hosts: [pick(rng, hosts)] } };
    case "clockStep": {
      const [low, high] = spec.stepUs ?? [0, 0];
      return {
        ...base,
        action: { kind: "clockStep", hosts: [pick(rng, hosts)], byUs: Math.round(low + rng.float() * (high - low)) },
      };
    }
  }
}

/** A one-line description of a fault for timelines. */
export function describeFault(fault: Fault): string {
  const a = fault.action;
  const list = (ids: readonly string[]) =>
    ids.length > 4 ? `${ids.slice(0, 3).join(", ")} +${ids.length - 3}` : ids.join(", ");
  switch (a.kind) {
    case "partition":
      return `partition ${a.groups.map((g) => `[${list(g)}]`).join(a.oneWay ? " -/-> " : " | ")}`;
    case "heal":
      return "heal all partitions and clogs";
    case "crash":
      return `${a.silent ? "power off" : "crash"} ${list(a.hosts)}`;
    case "restart":
    case "pause":
    case "resume":
      return `${a.kind} ${list(a.hosts)}`;
    case "clog":
    case "unclog":
      return `${a.kind} ${list(a.from)} -> ${list(a.to)}`;
    case "link":
      return `degrade ${list(a.from)} -> ${list(a.to)}: ${JSON.stringify(a.spec)}`;
    case "clockDrift":
      return `clock drift ${a.ppm} ppm on ${list(a.hosts)}`;
    case "clockStep":
      return `clock step ${a.byUs / 1e6}s on ${list(a.hosts)}`;
    case "resetTcp":
      return `reset TCP of ${list(a.hosts)}${a.peers === undefined ? "" : ` with ${list(a.peers)}`}`;
  }
}
