/** A self-contained SVG chart of a benchmark result: no plotting library, readable anywhere. */

const COLORS = { app: '#2f6fdf', baseline: '#9aa4b2' };
const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The opening of a chart: the SVG element, its text styles and a white background. */
const svgHead = (width, height) => `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<style>
  .h1 { font-size: 18px; font-weight: 600; fill: #1d1d1f; }
  .sub { font-size: 12px; fill: #555; }
  .title { font-size: 14px; font-weight: 600; fill: #1d1d1f; }
  .label { font-size: 13px; fill: #1d1d1f; }
  .value { font-size: 11px; fill: #333; }
  .note { font-size: 13px; font-weight: 600; fill: #1d1d1f; }
</style>
<rect width="100%" height="100%" fill="#fff"/>`;

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
  return `${svgHead(width + 40, height)}
<text x="20" y="28" class="h1">NestJS session module vs hand-written Express baseline</text>
<text x="20" y="47" class="sub">${escape(subtitle)}</text>
<rect x="${width - 210}" y="16" width="12" height="12" fill="${COLORS.app}"/><text x="${width - 192}" y="27" class="sub">app (NestJS)</text>
<rect x="${width - 100}" y="16" width="12" height="12" fill="${COLORS.baseline}"/><text x="${width - 82}" y="27" class="sub">baseline</text>
${speed.svg}
${commands.svg}
</svg>
`;
}

/**
 * The store-level benchmark as one bar per comparison: ours ÷ peer in ops/s (median of rounds),
 * against a line at 1× (as fast as the peer); grouped by store.
 */
export function renderRatioChart(result) {
  const width = 900;
  const labelWidth = 480;
  const barArea = width - labelWidth - 70;
  const rows = result.kinds.flatMap((kind) =>
    kind.comparisons.map((row) => ({ ...row, store: kind.title })),
  );
  // Capped, so that one large ratio (a peer ten times slower) does not flatten the rest.
  const max = Math.min(4, Math.max(2, ...rows.map((row) => row.ratio)));
  const x = (ratio) => 20 + labelWidth + (Math.min(ratio, max) / max) * barArea;
  const rowHeight = 20;
  const top = 70;
  const parts = [];
  let y = top;
  let store;
  for (const row of rows) {
    if (row.store !== store) {
      store = row.store;
      y += 8;
      parts.push(
        `<text x="20" y="${y + 12}" class="title">${escape(store)}</text>`,
      );
      y += rowHeight;
    }
    const who =
      row.oursLabel === 'ours'
        ? ''
        : ` (${row.oursLabel.replace(/^ours, /, '')})`;
    parts.push(
      `<text x="32" y="${y + 13}" class="label">${escape(`${row.title.replace(' (get + touch)', '')}${who} vs ${row.peer}`)}</text>`,
    );
    const w = Math.max(x(row.ratio) - x(0), 1);
    // As the label rounds it: 0.996 reads 1.00×, as fast.
    const fill = row.ratio >= 0.995 ? '#2f9e5b' : '#d9534f';
    parts.push(
      `<rect x="${x(0)}" y="${y + 2}" width="${w.toFixed(1)}" height="14" fill="${fill}"/>`,
    );
    parts.push(
      `<text x="${x(0) + w + 6}" y="${y + 13}" class="value">${fmt(row.ratio, 2)}×</text>`,
    );
    y += rowHeight;
  }
  const height = y + 20;
  const one = x(1);
  const s = result.settings;
  const subtitle = `${result.date.slice(0, 10)} · ${result.machine.cpus} cores · Node ${result.machine.node} · ${s.sessions} sessions, ${s.concurrency} in flight, ${s.rounds} rounds × ${s.seconds} s${s.quick ? ' · quick run' : ''} · green: ours faster, red: ours slower`;
  return `${svgHead(width + 40, height)}
<text x="20" y="28" class="h1">Our session stores vs the peers: ops/s, ours ÷ peer (higher is better)</text>
<text x="20" y="47" class="sub">${escape(subtitle)}</text>
<line x1="${one}" y1="${top}" x2="${one}" y2="${height - 14}" stroke="#999" stroke-dasharray="4 3"/>
${parts.join('\n')}
<text x="${one}" y="${height - 2}" class="sub" text-anchor="middle">1× (as fast as the peer)</text>
</svg>
`;
}
