/**
 * Prometheus text exposition of role reports: every finite number in a role's `report()` becomes a
 * gauge named after its path (`qeynos_zone_counters_entered`), labelled with the role's server name.
 * Lists with an `id` or `name` per element become one series per element.
 * @module
 */

/** A role report (what `LoginServer.report()`, `WorldServer.report()`, `ZoneServer.report()` return). */
export type Report = Readonly<Record<string, unknown>>;

function metricName(parts: readonly string[]): string {
  return parts.join("_")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .replace(/_+/g, "_");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Readonly<Record<string, string>>): string {
  const entries = Object.entries(pairs);
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function walk(
  value: unknown,
  path: string[],
  tags: Record<string, string>,
  out: Map<string, string[]>,
  depth: number,
): void {
  if (depth > 6) return;
  if (typeof value === "number" && Number.isFinite(value)) {
    const name = metricName(["qeynos", ...path]);
    const lines = out.get(name) ?? [];
    lines.push(`${name}${labels(tags)} ${value}`);
    out.set(name, lines);
    return;
  }
  if (typeof value === "boolean") {
    walk(value ? 1 : 0, path, tags, out, depth);
    return;
  }
  if (Array.isArray(value)) {
    for (const element of value) {
      if (typeof element !== "object" || element === null) continue;
      const e = element as Record<string, unknown>;
      const key = typeof e.name === "string" ? e.name : typeof e.id === "number" ? String(e.id) : undefined;
      if (key === undefined) continue;
      const label = metricName([path[path.length - 1] ?? "item"]);
      walk(element, path, { ...tags, [label]: key }, out, depth + 1);
    }
    return;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "name" || key === "role" || key === "address" || key === "public") continue;
      walk(inner, [...path, key], tags, out, depth + 1);
    }
  }
}

/** Renders the reports as Prometheus text (version 0.0.4). */
export function renderMetrics(reports: readonly Report[]): string {
  const out = new Map<string, string[]>();
  for (const report of reports) {
    const role = typeof report.role === "string" ? report.role : "role";
    const server = typeof report.name === "string" ? report.name : role;
    walk(report, [role], { server }, out, 0);
  }
  const text: string[] = [];
  for (const [name, lines] of out) {
    text.push(`# TYPE ${name} gauge`, ...lines);
  }
  return text.join("\n") + "\n";
}
