/** A self-contained SVG chart of a benchmark result: no plotting library, readable anywhere. */

const COLORS = { app: '#2f6fdf', baseline: '#9aa4b2' };
const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Horizontal grouped bars: one group per case, app above baseline, value and ratio labelled. */
function panel({ x, y, width, title, rows, value, format, note }) {
  const labelWidth = 210;
  const barArea = width - labelWidth - 120;
  const max = Math.max(...rows.flatMap((row) => [value(row, 'app'), value(row, 'baseline')]), 1e-9);
  const groupHeight = 46;
  const parts = [`<text x="${x}" y="${y}" class="title">${escape(title)}</text>`];
  rows.forEach((row, index) => {
    const top = y + 16 + index * groupHeight;
    parts.push(`<text x="${x}" y="${top + 22}" class="label">${escape(row.title)}</text>`);
    ['app', 'baseline'].forEach((who, k) => {
      const v = value(row, who);
      const w = Math.max((v / max) * barArea, 1);
      const barY = top + 4 + k * 19;
      parts.push(`<rect x="${x + labelWidth}" y="${barY}" width="${w.toFixed(1)}" height="16" fill="${COLORS[who]}"/>`);
      parts.push(`<text x="${x + labelWidth + w + 6}" y="${barY + 12}" class="value">${escape(format(v))}</text>`);
    });
    if (note) parts.push(`<text x="${x + width - 4}" y="${top + 22}" class="note" text-anchor="end">${escape(note(row))}</text>`);
  });
  return { svg: parts.join('\n'), height: 16 + rows.length * groupHeight + 24 };
}

export function renderChart(result) {
  const width = 900;
  const rows = result.cases;
  const speed = panel({
    x: 20,
    y: 70,
    width,
    title: 'Requests per second (median of rounds; higher is better)',
    rows,
    value: (row, who) => row.median[who].rps,
    format: (v) => fmt(v),
    note: (row) => `${fmt(row.ratio, 2)}×`,
  });
  const commands = panel({
    x: 20,
    y: 70 + speed.height + 20,
    width,
    title: 'Redis commands per request (lower is better)',
    rows,
    value: (row, who) => row.median[who].commandsPerRequest,
    format: (v) => fmt(v, 2),
  });
  const height = 70 + speed.height + 20 + commands.height + 10;
  const subtitle = `${result.date.slice(0, 10)} · ${result.machine.cpus} cores, ${result.machine.memoryGiB} GiB · Node ${result.machine.node} · ${result.settings.rounds} rounds × ${result.settings.durationSeconds} s, ${result.settings.connections} connections${result.settings.quick ? ' · quick run' : ''}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 40}" height="${height}" viewBox="0 0 ${width + 40} ${height}" font-family="system-ui, sans-serif">
<style>
  .h1 { font-size: 18px; font-weight: 600; fill: #1d1d1f; }
  .sub { font-size: 12px; fill: #555; }
  .title { font-size: 14px; font-weight: 600; fill: #1d1d1f; }
  .label { font-size: 13px; fill: #1d1d1f; }
  .value { font-size: 11px; fill: #333; }
  .note { font-size: 13px; font-weight: 600; fill: #1d1d1f; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="28" class="h1">NestJS session module vs hand-written Express baseline</text>
<text x="20" y="47" class="sub">${escape(subtitle)}</text>
<rect x="${width - 210}" y="16" width="12" height="12" fill="${COLORS.app}"/><text x="${width - 192}" y="27" class="sub">app (NestJS)</text>
<rect x="${width - 100}" y="16" width="12" height="12" fill="${COLORS.baseline}"/><text x="${width - 82}" y="27" class="sub">baseline</text>
${speed.svg}
${commands.svg}
</svg>
`;
}
