import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMetrics } from "../../src/admin/mod.ts";

test("renderMetrics() turns every number of a report into a gauge labelled with its server", () => {
  const text = renderMetrics([
    {
      role: "zone",
      name: "zone-1",
      players: 3,
      draining: false,
      status: "online",
      eqstream: { address: { address: "127.0.0.1", port: 9300 }, sessions: 3 },
      tick: { durationUs: { p99: 120 } },
      instances: [{ id: 4, zoneName: "qeynos", players: 2 }],
    },
    { role: "world", name: 'Odd "name"', zoneServers: [{ name: "zone-1", players: 3 }], counters: { saves: 9 } },
  ]);
  const lines = text.trim().split("\n");
  assert.ok(lines.includes("# TYPE qeynos_zone_players gauge"));
  assert.ok(lines.includes('qeynos_zone_players{server="zone-1"} 3'));
  assert.ok(lines.includes('qeynos_zone_draining{server="zone-1"} 0'));
  assert.ok(lines.includes('qeynos_zone_eqstream_sessions{server="zone-1"} 3'));
  assert.ok(lines.includes('qeynos_zone_tick_duration_us_p99{server="zone-1"} 120'));
  assert.ok(lines.includes('qeynos_zone_instances_players{server="zone-1",instances="4"} 2'));
  assert.ok(lines.includes('qeynos_world_zone_servers_players{server="Odd \\"name\\"",zone_servers="zone-1"} 3'));
  assert.ok(lines.includes('qeynos_world_counters_saves{server="Odd \\"name\\""} 9'));
  assert.equal(lines.some((l) => l.includes("port")), false, "addresses are not metrics");
  assert.equal(lines.some((l) => l.includes("status")), false, "strings are not metrics");
});
