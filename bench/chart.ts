/**
 * SVG line charts of an outage run: acknowledged writes over time around the disruption, one line
 * per client. Plain strings, no dependency: the file opens in a browser or on GitHub.
 */
import type { AckTimeline } from './writer.js';

export interface ChartSeries {
  label: string;
  timeline: AckTimeline;
}

export interface OutageChart {
  title: string;
  subtitle?: string;
  series: ChartSeries[];
  /** Vertical markers, in ms from the event (the kill is 0). */
  markers: { atMs: number; label: string }[];
}

const WIDTH = 760;
const HEIGHT = 360;
const M = { top: 56, right: 24, bottom: 48, left: 64 };
const COLORS = ['#d62728', '#ff7f0e', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b'];

/** Cumulative acknowledged writes at the end of each bucket: `[ms from the event, count]`. */
export function cumulative(t: AckTimeline): [number, number][] {
  const points: [number, number][] = [[t.startMs, 0]];
  let total = 0;
  t.acks.forEach((n, i) => {
    total += n;
    points.push([t.startMs + (i + 1) * t.bucketMs, total]);
  });
  return points;
}

/** Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks over `span`. */
export function tickStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const f = (n: number): string => (Math.round(n * 10) / 10).toString();

export function renderOutageChart(chart: OutageChart): string {
  const lines = chart.series.map((s) => ({ label: s.label, points: cumulative(s.timeline) }));
  const all = lines.flatMap((l) => l.points);
  const x0 = Math.min(...all.map((p) => p[0]), 0);
  const x1 = Math.max(...all.map((p) => p[0]), 1);
  const y1 = Math.max(...all.map((p) => p[1]), 1);
  const w = WIDTH - M.left - M.right;
  const h = HEIGHT - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number) => M.top + h - (y / y1) * h;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600">${esc(chart.title)}</text>`,
  ];
  if (chart.subtitle) out.push(`<text x="${M.left}" y="40" fill="#555">${esc(chart.subtitle)}</text>`);
  const xs = tickStep((x1 - x0) / 1000, 8) * 1000;
  for (let x = Math.ceil(x0 / xs) * xs; x <= x1; x += xs) {
    out.push(`<line x1="${f(sx(x))}" x2="${f(sx(x))}" y1="${M.top}" y2="${M.top + h}" stroke="#eee"/>`);
    out.push(`<text x="${f(sx(x))}" y="${M.top + h + 16}" text-anchor="middle" fill="#555">${f(x / 1000)} s</text>`);
  }
  const ys = tickStep(y1, 5);
  for (let y = 0; y <= y1; y += ys) {
    out.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${f(sy(y))}" y2="${f(sy(y))}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${f(sy(y) + 4)}" text-anchor="end" fill="#555">${y}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + h}" stroke="#999"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${M.top + h}" y2="${M.top + h}" stroke="#999"/>`);
  out.push(`<text x="${M.left + w / 2}" y="${HEIGHT - 8}" text-anchor="middle" fill="#333">time from the disruption</text>`);
  out.push(`<text transform="translate(16 ${M.top + h / 2}) rotate(-90)" text-anchor="middle" fill="#333">acknowledged writes (cumulative)</text>`);
  chart.markers.forEach((m, i) => {
    if (m.atMs < x0 || m.atMs > x1) return;
    const x = f(sx(m.atMs));
    // A label that would run past the right edge goes on the marker's left (about 6.5 px a character).
    const left = sx(m.atMs) + 4 + m.label.length * 6.5 > M.left + w;
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + h}" stroke="#333" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x}" y="${M.top + 12 + i * 14}" dx="${left ? -4 : 4}" text-anchor="${left ? 'end' : 'start'}" fill="#333">${esc(m.label)}</text>`);
  });
  // The legend: top left, right of the disruption, below the markers' labels (the lines start low).
  const lx = sx(Math.max(0, x0)) + 12;
  const ly = M.top + 14 * chart.markers.length + 18;
  // Wide enough for the longest entry (about 6.5 px a character), within the plot.
  const legendWidth = Math.min(M.left + w - lx + 6, Math.max(440, 30 + 6.5 * Math.max(...lines.map((l) => l.label.length))));
  out.push(`<rect x="${f(lx - 6)}" y="${ly - 12}" width="${f(legendWidth)}" height="${16 * lines.length + 8}" fill="#fff" fill-opacity="0.7"/>`);
  lines.forEach((l, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = l.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${f(sx(x))} ${f(sy(y))}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${esc(l.label)}</title></path>`);
    const y = ly + i * 16;
    out.push(`<line x1="${f(lx)}" x2="${f(lx + 18)}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${f(lx + 24)}" y="${y}">${esc(l.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
