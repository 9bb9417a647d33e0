/**
 * Small inline-SVG charts for the HTML report: line charts over time with fault periods shaded,
 * CDFs, and a fault timeline. No scripts, no external resources.
 * @module
 */

/** Escapes text for HTML and SVG. */
export function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A colour-blind-friendly palette (Okabe-Ito, then a few more). */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
  "#7f7f7f",
  "#8c564b",
];

/** A shaded interval or an instant mark on the time axis. */
export interface Shade {
  readonly fromUs: number;
  readonly toUs?: number;
  readonly label: string;
}

export interface LineSeries {
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

const WIDTH = 1100;
const PAD = { left: 64, right: 16, top: 12, bottom: 34 };

function niceStep(range: number, ticks: number): number {
  if (!(range > 0)) return 1;
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/** Formats a number compactly for axis labels. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || v === Math.round(v)) return `${Math.round(v)}`;
  return `${+v.toPrecision(3)}`;
}

function secondsLabel(us: number): string {
  const s = us / 1e6;
  return s === Math.round(s) ? `${s}s` : `${+s.toFixed(3)}s`;
}

/** A line chart against time (µs on x, shown in seconds), with shaded fault periods. */
export function timeChart(options: {
  readonly series: readonly LineSeries[];
  readonly endUs: number;
  readonly unit: string;
  readonly shades: readonly Shade[];
  readonly healUs?: number;
  readonly height?: number;
}): string {
  const height = options.height ?? 220;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const xMax = Math.max(1, options.endUs);
  let yMax = 0;
  for (const s of options.series) for (const [, v] of s.points) if (Number.isFinite(v) && v > yMax) yMax = v;
  const yStep = niceStep(yMax || 1, 4);
  yMax = Math.max(yStep, Math.ceil((yMax || 1) / yStep) * yStep);
  const x = (us: number) => PAD.left + (us / xMax) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">`);
  for (const shade of options.shades) {
    if (shade.toUs !== undefined && shade.toUs > shade.fromUs) {
      parts.push(
        `<rect x="${x(shade.fromUs).toFixed(1)}" y="${PAD.top}" width="${
          Math.max(1, x(shade.toUs) - x(shade.fromUs)).toFixed(1)
        }" height="${plotH}" fill="#d62728" fill-opacity="0.10"><title>${esc(shade.label)}</title></rect>`,
      );
    } else {
      parts.push(
        `<line x1="${x(shade.fromUs).toFixed(1)}" x2="${x(shade.fromUs).toFixed(1)}" y1="${PAD.top}" y2="${
          PAD.top + plotH
        }" stroke="#d62728" stroke-opacity="0.6" stroke-dasharray="3,3"><title>${esc(shade.label)}</title></line>`,
      );
    }
  }
  if (options.healUs !== undefined && options.healUs < xMax) {
    const hx = x(options.healUs).toFixed(1);
    parts.push(
      `<line x1="${hx}" x2="${hx}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#2ca02c" stroke-width="1.5"/>`,
    );
    parts.push(`<text x="${(+hx + 4).toFixed(1)}" y="${PAD.top + 11}" font-size="11" fill="#2ca02c">heal</text>`);
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v).toFixed(1)}" y2="${
        y(v).toFixed(1)
      }" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${
        fmt(v)
      }</text>`,
    );
  }
  const xStep = niceStep(xMax / 1e6, 10) * 1e6;
  for (let t = 0; t <= xMax + 1; t += xStep) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${PAD.top + plotH}" y2="${
        PAD.top + plotH + 4
      }" stroke="#999"/>`,
    );
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${PAD.top + plotH + 17}" font-size="11" text-anchor="middle" fill="#555">${
        secondsLabel(t)
      }</text>`,
    );
  }
  parts.push(
    `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#999"/>`,
  );
  parts.push(
    `<text x="14" y="${PAD.top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 14 ${
      PAD.top + plotH / 2
    })" text-anchor="middle">${esc(options.unit)}</text>`,
  );
  options.series.forEach((s, i) => {
    const path = pathOf(s.points.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => [x(t), y(v)]));
    if (path !== "") {
      parts.push(
        `<path d="${path}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.6"><title>${
          esc(s.label)
        }</title></path>`,
      );
    }
  });
  parts.push(`</svg>`);
  return parts.join("") + legend(options.series.map((s) => s.label));
}

/** A CDF chart: x is a value (µs shown as ms), y the fraction at or below it; log x for wide ranges. */
export function cdfChart(series: readonly LineSeries[], unit: "ms" | string = "ms", divisor = 1000): string {
  const height = 240;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  let xMax = 0;
  let xMin = Infinity;
  for (const s of series) {
    for (const [v] of s.points) {
      const x = v / divisor;
      if (x > xMax) xMax = x;
      if (x > 0 && x < xMin) xMin = x;
    }
  }
  const log = xMin !== Infinity && xMax / xMin > 30;
  let x: (v: number) => number;
  const ticks: number[] = [];
  if (log) {
    // Axis ends on the 1-2-5 sequence around the data.
    const steps: number[] = [];
    for (let d = 10 ** Math.floor(Math.log10(xMin)); d <= xMax * 10; d *= 10) steps.push(d, 2 * d, 5 * d);
    const lo = steps.filter((v) => v <= xMin).at(-1) ?? steps[0]!;
    const hi = steps.find((v) => v >= xMax) ?? steps.at(-1)!;
    const span = Math.log10(hi) - Math.log10(lo);
    x = (v: number) => PAD.left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * plotW;
    for (const v of steps) if (v >= lo && v <= hi) ticks.push(v);
  } else {
    const step = niceStep(xMax || 1, 10);
    xMax = Math.max(step, Math.ceil((xMax || 1) / step) * step);
    x = (v: number) => PAD.left + (v / xMax) * plotW;
    for (let v = 0; v <= xMax + 1e-9; v += step) ticks.push(v);
  }
  const y = (f: number) => PAD.top + plotH - f * plotH;
  const parts: string[] = [
    `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">`,
  ];
  for (const f of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(f).toFixed(1)}" y2="${y(f).toFixed(1)}" stroke="${
        f === 0.99 ? "#f0f0f0" : "#e5e5e5"
      }"/>`,
    );
    if (f !== 0.99) {
      parts.push(
        `<text x="${PAD.left - 6}" y="${
          (y(f) + 4).toFixed(1)
        }" font-size="11" text-anchor="end" fill="#555">${f}</text>`,
      );
    }
  }
  for (const v of ticks) {
    parts.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${PAD.top}" y2="${
        PAD.top + plotH
      }" stroke="#f0f0f0"/>`,
    );
    parts.push(
      `<text x="${x(v).toFixed(1)}" y="${PAD.top + plotH + 17}" font-size="11" text-anchor="middle" fill="#555">${
        fmt(v)
      }</text>`,
    );
  }
  parts.push(
    `<text x="${WIDTH - PAD.right}" y="${height - 2}" font-size="11" text-anchor="end" fill="#555">${esc(unit)}${
      log ? " (log scale)" : ""
    }</text>`,
  );
  parts.push(
    `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#999"/>`,
  );
  series.forEach((s, i) => {
    // A CDF is a staircase: hold each fraction until the next value.
    const pts: Array<[number, number]> = [];
    let prev = 0;
    for (const [v, f] of s.points) {
      pts.push([x(v / divisor), y(prev)], [x(v / divisor), y(f)]);
      prev = f;
    }
    const path = pathOf(pts);
    if (path !== "") {
      parts.push(
        `<path d="${path}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.6"><title>${
          esc(s.label)
        }</title></path>`,
      );
    }
  });
  parts.push(`</svg>`);
  return parts.join("") + legend(series.map((s) => s.label));
}

/** A timeline: one row per fault, bars for periods, diamonds for instants. */
export function timelineChart(
  entries: ReadonlyArray<Shade & { readonly kind: string }>,
  endUs: number,
  healUs: number,
): string {
  const rowH = 18;
  const labelW = 360;
  const height = PAD.top + entries.length * rowH + PAD.bottom;
  const plotW = WIDTH - labelW - PAD.right;
  const xMax = Math.max(1, endUs);
  const x = (us: number) => labelW + (us / xMax) * plotW;
  const parts: string[] = [
    `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(
    `<rect x="${x(0)}" y="${PAD.top - 4}" width="${(x(healUs) - x(0)).toFixed(1)}" height="${
      entries.length * rowH + 4
    }" fill="#fff3e0"/>`,
  );
  parts.push(
    `<rect x="${x(healUs).toFixed(1)}" y="${PAD.top - 4}" width="${(x(xMax) - x(healUs)).toFixed(1)}" height="${
      entries.length * rowH + 4
    }" fill="#e8f5e9"/>`,
  );
  entries.forEach((e, i) => {
    const cy = PAD.top + i * rowH + rowH / 2;
    const label = e.label.length > 58 ? `${e.label.slice(0, 57)}…` : e.label;
    parts.push(
      `<text x="${labelW - 8}" y="${cy + 4}" font-size="11" text-anchor="end" fill="#333"><title>${
        esc(e.label)
      }</title>${esc(label)}</text>`,
    );
    const color = KIND_COLORS[e.kind] ?? "#555";
    if (e.toUs !== undefined && e.toUs > e.fromUs) {
      parts.push(
        `<rect x="${x(e.fromUs).toFixed(1)}" y="${cy - 5}" width="${
          Math.max(2, x(e.toUs) - x(e.fromUs)).toFixed(1)
        }" height="10" rx="2" fill="${color}"><title>${esc(e.label)}</title></rect>`,
      );
    } else {
      const cx = x(e.fromUs);
      parts.push(
        `<path d="M${(cx - 5).toFixed(1)} ${cy} L${cx.toFixed(1)} ${cy - 5} L${(cx + 5).toFixed(1)} ${cy} L${
          cx.toFixed(1)
        } ${cy + 5} Z" fill="${color}"><title>${esc(e.label)}</title></path>`,
      );
    }
  });
  const axisY = PAD.top + entries.length * rowH + 4;
  const xStep = niceStep(xMax / 1e6, 10) * 1e6;
  for (let t = 0; t <= xMax + 1; t += xStep) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${axisY + 14}" font-size="11" text-anchor="middle" fill="#555">${
        secondsLabel(t)
      }</text>`,
    );
  }
  parts.push(
    `<text x="${((x(0) + x(healUs)) / 2).toFixed(1)}" y="${
      axisY + 28
    }" font-size="11" text-anchor="middle" fill="#b26a00">chaos</text>`,
  );
  if (healUs < xMax) {
    parts.push(
      `<text x="${((x(healUs) + x(xMax)) / 2).toFixed(1)}" y="${
        axisY + 28
      }" font-size="11" text-anchor="middle" fill="#2e7d32">heal</text>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("").replace(`viewBox="0 0 ${WIDTH} ${height}"`, `viewBox="0 0 ${WIDTH} ${height + 14}"`);
}

const KIND_COLORS: Readonly<Record<string, string>> = {
  partition: "#d62728",
  crash: "#000000",
  pause: "#9467bd",
  clog: "#8c564b",
  link: "#ff7f0e",
  resetTcp: "#e377c2",
  clockStep: "#17becf",
  clockDrift: "#17becf",
  restart: "#2ca02c",
  resume: "#2ca02c",
  heal: "#2ca02c",
};

function pathOf(points: ReadonlyArray<readonly [number, number]>): string {
  if (points.length === 0) return "";
  let d = `M${points[0]![0].toFixed(1)} ${points[0]![1].toFixed(1)}`;
  for (let i = 1; i < points.length; i++) d += `L${points[i]![0].toFixed(1)} ${points[i]![1].toFixed(1)}`;
  return d;
}

function legend(labels: readonly string[]): string {
  if (labels.length <= 1) {
    return labels.length === 1
      ? `<div class="legend"><span><i style="background:${PALETTE[0]}"></i>${esc(labels[0]!)}</span></div>`
      : "";
  }
  return `<div class="legend">${
    labels.map((l, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(l)}</span>`).join("")
  }</div>`;
}
