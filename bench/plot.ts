/**
 * The latency-vs-load plot of `npm run bench`, as a hand-written SVG (no plotting dependency):
 * turnaround p50/p95/p99 against concurrent sessions (log x and y axes), the no-op Update floor
 * as a dashed line.
 */
import type { TurnaroundRow } from './turnaround';

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 130, top: 40, bottom: 55 };
const SERIES = [
  { key: 'p50', colour: '#1f77b4' },
  { key: 'p95', colour: '#ff7f0e' },
  { key: 'p99', colour: '#d62728' },
] as const;

/**
 * Ticks for a log y axis: 1, 2 and 5 × 10^k from below `min` to above `max`. Log, so the floor
 * (milliseconds) and the tail under load (hundreds) are both readable.
 */
function yTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)); 10 ** k <= max * 5; k++) {
    for (const m of [1, 2, 5]) ticks.push(m * 10 ** k);
  }
  const low = ticks.filter((t) => t <= min).at(-1) ?? ticks[0]!;
  const high = ticks.find((t) => t >= max) ?? ticks.at(-1)!;
  return ticks.filter((t) => t >= low && t <= high);
}

const round = (n: number) => Math.round(n * 10) / 10;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function latencyVsLoadSvg(rows: TurnaroundRow[], floorP50: number, caption: string): string {
  const points = rows.filter((r) => Number.isFinite(r.p99) && r.sessions > 0);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = points.map((r) => Math.log10(r.sessions));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const values = [floorP50, ...points.flatMap((r) => [r.p50, r.p99])].filter((v) => v > 0);
  const ticks = yTicks(Math.min(...values, 1), Math.max(...values, 10));
  const [yMin, yMax] = [Math.log10(ticks[0]!), Math.log10(ticks.at(-1)!)];
  const px = (sessions: number) =>
    round(MARGIN.left + ((Math.log10(sessions) - xMin) / (xMax - xMin)) * plotW);
  const py = (ms: number) =>
    round(MARGIN.top + plotH - ((Math.log10(Math.max(ms, 1e-3)) - yMin) / (yMax - yMin)) * plotH);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">Turnaround latency against concurrent sessions</text>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT - 8}" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
  ];
  for (const t of ticks) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(t) + 4}" text-anchor="end">${t}</text>`,
    );
  }
  for (const r of points) {
    out.push(
      `<line x1="${px(r.sessions)}" x2="${px(r.sessions)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${px(r.sessions)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${r.sessions}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle">concurrent sessions (log scale)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">ms (log scale)</text>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(floorP50)}" y2="${py(floorP50)}" stroke="#2ca02c" stroke-dasharray="6 4"/>`,
  );
  for (const s of SERIES) {
    const path = points.map((r) => `${px(r.sessions)},${py(r[s.key])}`);
    out.push(
      `<polyline points="${path.join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2"/>`,
      ...points.map(
        (r) => `<circle cx="${px(r.sessions)}" cy="${py(r[s.key])}" r="3" fill="${s.colour}"/>`,
      ),
    );
  }
  const legend = [
    ...SERIES.map((s) => ({ label: `turnaround ${s.key}`, colour: s.colour, dash: '' })),
    { label: 'no-op Update p50', colour: '#2ca02c', dash: ' stroke-dasharray="6 4"' },
  ];
  legend.forEach((l, i) => {
    const y = MARGIN.top + 10 + i * 18;
    const x = MARGIN.left + plotW + 10;
    out.push(
      `<line x1="${x}" x2="${x + 20}" y1="${y}" y2="${y}" stroke="${l.colour}" stroke-width="2"${l.dash}/>`,
      `<text x="${x + 26}" y="${y + 4}">${esc(l.label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
