/**
 * The self-contained HTML report of a scenario run (no scripts, no external resources).
 * @module
 */
import { cdfChart, esc, fmt, type LineSeries, type Shade, timeChart, timelineChart } from "./_svg.ts";
import type { ScenarioReport } from "./runner.ts";

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;background:#f6f7f9;margin:0}
main{max-width:1180px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:24px;margin:4px 0 2px}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px;color:#333}
p.sub{margin:0 0 14px;color:#555}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px 18px;margin:14px 0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef1;vertical-align:top}
th{font-weight:600;color:#444;background:#fafbfc}
td.num,th.num{text-align:right;white-space:nowrap}
table.links td:first-child{white-space:nowrap}
table.narrow{width:auto;min-width:50%}
.badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:700;font-size:13px;vertical-align:middle;margin-left:8px}
.pass{background:#e3f4e8;color:#17652f}
.fail{background:#fde2e1;color:#a3221b}
.warn{background:#fff4d6;color:#7a5300}
.ok{color:#17652f;font-weight:600}
tr.failed td{background:#fff4f3}
.bad{color:#a3221b;font-weight:600}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f3f4f6;padding:10px 12px;border-radius:6px;overflow:auto;max-height:480px;margin:6px 0}
.replay{display:flex;gap:10px;align-items:center;background:#1f2430;color:#e8eaf0;border-radius:6px;padding:9px 12px;margin-top:12px}
.replay code{color:#e8eaf0;word-break:break-all}
.id{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px 18px}
.id div{min-width:0}
.id b{display:block;font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#666;font-weight:600}
.id span{overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#333;margin:2px 0 8px 64px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:6px;vertical-align:middle}
.note{color:#666;font-size:12.5px}
details summary{cursor:pointer;font-weight:600}
`;

function num(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

function seconds(us: number): string {
  return `${(us / 1e6).toFixed(3)} s`;
}

function ms(us: number): string {
  return us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${(us / 1000).toFixed(2)} ms`;
}

/** Renders the report as one HTML page. */
export function renderReportHtml(report: ScenarioReport): string {
  const failed = report.checks.filter((c) => !c.passed);
  const endUs = report.phases.endUs;
  const shades: Shade[] = report.timeline.filter((t) => t.source !== "phase").map((t) => ({
    fromUs: t.atUs,
    ...(t.untilUs === undefined ? {} : { toUs: t.untilUs }),
    label: `${(t.atUs / 1e6).toFixed(2)}s ${t.description}`,
  }));
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8">`);
  out.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  out.push(
    `<title>${esc(report.scenario.name)} — ${report.passed ? "passed" : "FAILED"} — seed ${report.seed}</title>`,
  );
  out.push(`<style>${STYLE}</style></head><body><main>`);

  // Identity.
  out.push(
    `<section><h1>${esc(report.scenario.name)}<span class="badge ${report.passed ? "pass" : "fail"}">${
      report.passed ? "PASSED" : `FAILED ${failed.length}/${report.checks.length}`
    }</span>${report.deterministic ? "" : `<span class="badge warn">LIVE — not deterministic</span>`}</h1>`,
  );
  if (report.scenario.description !== "") out.push(`<p class="sub">${esc(report.scenario.description)}</p>`);
  const identity: Array<[string, string]> = [
    ["seed", String(report.seed)],
    ["trace hash", report.traceHash],
    ["simulated", seconds(report.simSeconds * 1e6)],
    ["wall clock", `${report.wallSeconds.toFixed(2)} s (${fmt(report.simWallRatio)}× real time)`],
    ["events", num(report.events)],
    ["ended by", report.reason + (report.stall === undefined ? "" : `: ${report.stall}`)],
    ["runtime", `${report.runtime}, qeynos ${report.version}`],
    ["scenario", `${report.scenario.file} (sha256 ${report.scenario.hash.slice(0, 12)}…)`],
  ];
  out.push(
    `<div class="id">${identity.map(([k, v]) => `<div><b>${k}</b><span>${esc(v)}</span></div>`).join("")}</div>`,
  );
  if (report.replay !== "") out.push(`<div class="replay"><span>replay</span><code>${esc(report.replay)}</code></div>`);
  out.push(`</section>`);

  // Verdicts.
  out.push(
    `<section><h2>Checks</h2><table><thead><tr><th>check</th><th>kind</th><th>result</th><th class="num">first violation</th><th>detail</th></tr></thead><tbody>`,
  );
  for (const c of report.checks) {
    out.push(
      `<tr${c.passed ? "" : ` class="failed"`}><td><code>${esc(c.name)}</code></td><td>${c.kind}</td><td class="${
        c.passed ? "ok" : "bad"
      }">${c.passed ? "pass" : "FAIL"}</td><td class="num">${
        c.firstViolationUs === undefined ? "" : seconds(c.firstViolationUs)
      }</td><td>${esc(c.detail)}</td></tr>`,
    );
  }
  out.push(`</tbody></table>`);
  if (report.probes.length > 0) {
    out.push(
      `<h3>Probes (sometimes)</h3><table><thead><tr><th>probe</th><th class="num">held</th><th class="num">evaluated</th><th class="num">first at</th></tr></thead><tbody>`,
    );
    for (const p of report.probes) {
      out.push(
        `<tr><td><code>${esc(p.name)}</code></td><td class="num">${num(p.hits)}</td><td class="num">${
          num(p.checks)
        }</td><td class="num">${p.firstUs < 0 ? "never" : seconds(p.firstUs)}</td></tr>`,
      );
    }
    out.push(`</tbody></table>`);
  }
  out.push(`</section>`);

  // Fault timeline.
  const timeline = report.timeline.filter((t) => t.source !== "phase");
  out.push(`<section><h2>Fault timeline</h2>`);
  if (timeline.length === 0) {
    out.push(`<p class="note">No faults: the network was as configured for the whole run.</p>`);
  } else {
    const rows = timeline.slice(0, 60).map((t) => ({
      fromUs: t.atUs,
      ...(t.untilUs === undefined ? {} : { toUs: t.untilUs }),
      label: `${(t.atUs / 1e6).toFixed(2)}s ${t.source === "nemesis" ? "(nemesis) " : ""}${t.description}`,
      kind: t.kind,
    }));
    out.push(timelineChart(rows, endUs, report.phases.chaosEndUs));
    if (timeline.length > 60) out.push(`<p class="note">${timeline.length - 60} more faults in report.json.</p>`);
  }
  out.push(
    `<p class="note">Chaos phase 0–${
      (report.phases.chaosEndUs / 1e6).toFixed(1)
    } s (orange), then every partition, clog and degraded link is healed and crashed or paused hosts come back (green). Red bands in the charts below mark fault periods; dashed lines mark instant faults.</p></section>`,
  );

  // Time series grouped by chart.
  const charts = new Map<string, typeof report.series[number][]>();
  for (const s of report.series) {
    if (s.points.length === 0) continue;
    let list = charts.get(s.chart);
    if (list === undefined) charts.set(s.chart, list = []);
    list.push(s);
  }
  if (charts.size > 0) {
    out.push(`<section><h2>Over time</h2>`);
    for (const [chart, list] of charts) {
      out.push(`<h3>${esc(chart)}</h3>`);
      out.push(timeChart({
        series: list.map((s): LineSeries => ({ label: s.label, points: s.points })),
        endUs,
        unit: list[0]!.unit,
        shades,
        healUs: report.phases.chaosEndUs,
      }));
    }
    out.push(`</section>`);
  }

  // Latency.
  const busy = [...report.links].filter((l) => l.latencyCdf.length > 0).sort((a, b) => b.delivered - a.delivered);
  if (busy.length > 0 || report.histograms.length > 0) {
    out.push(`<section><h2>Latency</h2>`);
    for (const h of report.histograms) {
      if (h.summary.count === 0) continue;
      const divisor = h.unit === "us" ? 1000 : 1;
      out.push(`<h3>${esc(h.label)} — CDF</h3>`);
      out.push(cdfChart([{ label: h.label, points: h.cdf }], h.unit === "us" ? "ms" : h.unit, divisor));
      out.push(
        `<p class="note">n=${num(h.summary.count)}, p50 ${ms(h.summary.p50)}, p90 ${ms(h.summary.p90)}, p99 ${
          ms(h.summary.p99)
        }, max ${ms(h.summary.max)}</p>`,
      );
    }
    if (busy.length > 0) {
      const shown = busy.slice(0, 8);
      out.push(
        `<h3>One-way datagram latency per link — CDF${busy.length > 8 ? ` (8 busiest of ${busy.length})` : ""}</h3>`,
      );
      out.push(cdfChart(shown.map((l) => ({ label: `${l.from} → ${l.to}`, points: l.latencyCdf }))));
    }
    out.push(`</section>`);
  }

  // Links.
  out.push(`<section><h2>Links</h2>`);
  const links = report.links.filter((l) => l.sent > 0 || l.tcpSegments > 0);
  if (links.length === 0) out.push(`<p class="note">No traffic.</p>`);
  else {
    out.push(
      `<table class="links"><thead><tr><th>link</th><th class="num">sent</th><th class="num">delivered</th><th>dropped (by cause)</th><th class="num">dup</th><th class="num">corrupt</th><th class="num">reordered</th><th class="num">p50</th><th class="num">p99</th><th class="num">max queue</th><th class="num">TCP segs</th></tr></thead><tbody>`,
    );
    const shownLinks = links.length > 60 ? [...links].sort((a, b) => b.sent - a.sent).slice(0, 60) : links;
    for (const l of shownLinks) {
      const causes = Object.entries(l.dropped).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${num(n)}`).join(", ");
      out.push(
        `<tr><td>${esc(l.from)} → ${esc(l.to)}</td><td class="num">${num(l.sent)}</td><td class="num">${
          num(l.delivered)
        }</td><td>${causes === "" ? "—" : esc(causes)}</td><td class="num">${num(l.duplicated)}</td><td class="num">${
          num(l.corrupted)
        }</td><td class="num">${num(l.reordered)}</td><td class="num">${
          l.latencyUs.count > 0 ? ms(l.latencyUs.p50) : ""
        }</td><td class="num">${l.latencyUs.count > 0 ? ms(l.latencyUs.p99) : ""}</td><td class="num">${
          l.maxQueueBytes > 0 ? `${num(l.maxQueueBytes)} B` : ""
        }</td><td class="num">${l.tcpSegments > 0 ? num(l.tcpSegments) : ""}</td></tr>`,
      );
    }
    out.push(`</tbody></table>`);
    if (links.length > 60) {
      out.push(`<p class="note">The 60 busiest of ${links.length} links; all are in report.json.</p>`);
    }
  }
  if (report.tcp !== undefined && (report.tcp.segments ?? 0) > 0) {
    out.push(
      `<h3>TCP</h3><p>${Object.entries(report.tcp).map(([k, v]) => `${esc(k)} <b>${num(v)}</b>`).join(" · ")}</p>`,
    );
  }
  out.push(`</section>`);

  // Metrics.
  if (report.metrics.length > 0) {
    out.push(`<section><h2>Workload metrics</h2><table class="narrow"><tbody>`);
    for (const m of report.metrics) {
      out.push(
        `<tr><td><code>${esc(m.name)}</code></td><td class="num">${num(m.value)}${
          m.unit === "" ? "" : ` ${esc(m.unit)}`
        }</td></tr>`,
      );
    }
    out.push(`</tbody></table></section>`);
  }

  // Problems.
  if (report.errors.count > 0 || report.violations.count > 0 || report.lateAsyncCalls > 0 || report.logs.length > 0) {
    out.push(`<section><h2>Diagnostics</h2>`);
    if (report.errors.count > 0) {
      out.push(
        `<h3>Uncaught errors (${num(report.errors.count)})</h3><pre>${
          esc(report.errors.first.map((e) => `${seconds(e.timeUs)} ${e.host}: ${e.message}`).join("\n"))
        }</pre>`,
      );
    }
    if (report.violations.count > 0) {
      out.push(
        `<h3>Real clock, timer or random calls (${num(report.violations.count)})</h3><pre>${
          esc(report.violations.first.map((v) => `${seconds(v.timeUs)} ${v.api}\n${v.stack}`).join("\n\n"))
        }</pre>`,
      );
    }
    if (report.lateAsyncCalls > 0) {
      out.push(
        `<p>${
          num(report.lateAsyncCalls)
        } Platform call(s) came from promise chains the simulation was not given; they ran later than the event that caused them. Set <code>simulation: { asyncMode: always }</code> for exact timing.</p>`,
      );
    }
    if (report.logs.length > 0) {
      out.push(
        `<h3>Last warnings and errors logged by hosts</h3><pre>${
          esc(report.logs.map((l) => `${seconds(l.timeUs)} ${l.host} ${l.level.toUpperCase()} ${l.message}`).join("\n"))
        }</pre>`,
      );
    }
    out.push(`</section>`);
  }

  // Resolved scenario.
  out.push(`<section><h2>Scenario</h2>`);
  out.push(
    `<details><summary>Resolved (hosts, links and faults after random sampling)</summary><pre>${
      esc(JSON.stringify(report.resolved, null, 2))
    }</pre></details>`,
  );
  out.push(
    `<details><summary>Source: ${esc(report.scenario.file)}</summary><pre>${
      esc(report.scenario.source)
    }</pre></details>`,
  );
  out.push(`</section>`);
  out.push(`</main></body></html>\n`);
  return out.join("\n");
}

/** A summary page for several runs. */
export function renderSummaryHtml(summary: RunsSummary): string {
  const out: string[] = [];
  out.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
      esc(summary.scenario)
    } — ${summary.failed} of ${summary.runs.length} failed</title><style>${STYLE}</style></head><body><main>`,
  );
  out.push(
    `<section><h1>${esc(summary.scenario)}<span class="badge ${summary.failed === 0 ? "pass" : "fail"}">${
      summary.failed === 0 ? "ALL PASSED" : `${summary.failed} of ${summary.runs.length} FAILED`
    }</span></h1><p class="sub">${summary.runs.length} runs, ${
      summary.wallSeconds.toFixed(1)
    } s wall clock.</p></section>`,
  );
  out.push(
    `<section><table><thead><tr><th>seed</th><th>result</th><th>trace hash</th><th>failed checks</th><th>report</th></tr></thead><tbody>`,
  );
  for (const r of summary.runs) {
    out.push(
      `<tr><td>${r.seed}</td><td class="${r.passed ? "ok" : "bad"}">${
        r.passed ? "pass" : "FAIL"
      }</td><td><code>${r.traceHash}</code></td><td>${esc(r.failedChecks.join(", "))}</td><td><a href="${
        esc(r.report)
      }">${esc(r.report)}</a></td></tr>`,
    );
  }
  out.push(`</tbody></table></section></main></body></html>\n`);
  return out.join("\n");
}

/** `summary.json` of a multi-run. */
export interface RunsSummary {
  readonly scenario: string;
  readonly failed: number;
  readonly wallSeconds: number;
  readonly runs: ReadonlyArray<
    { seed: number; passed: boolean; traceHash: string; failedChecks: string[]; report: string }
  >;
}
