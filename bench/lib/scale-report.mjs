/** The scale benchmark's tables, in Markdown (printed, and written for the README). */

const n = (value) => Math.round(value).toLocaleString('en-US');
const ms = (value) => (value < 10 ? value.toFixed(2) : value.toFixed(0));
const times = (value) => `${value.toFixed(2)}×`;

/** CPU per op at both sizes, with the part spent in garbage collection where it was measured. */
const cpu = (m) =>
  `${n(m.smallCpu)} · ${n(m.largeCpu)}` +
  (m.smallGc === undefined ? '' : ` (GC ${n(m.smallGc)} · ${n(m.largeGc)})`);

function speedTable(result) {
  const lines = [
    '| store | sessions stored | page view ops/s (few · many) | many ÷ few | p99 ms (few · many) | CPU µs/op (few · many), GC pauses | login ops/s (few · many) | many ÷ few | p99 ms (few · many) | CPU µs/op (few · many), GC pauses | fill s (few · many) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const k of result.kinds)
    lines.push(
      `| ${k.title} | ${n(k.sizes.small)} · ${n(k.sizes.large)} | ${n(k.pageView.small)} · ${n(k.pageView.large)} | ${times(k.pageView.ratio)} | ` +
        `${ms(k.pageView.smallP99)} · ${ms(k.pageView.largeP99)} | ${cpu(k.pageView)} | ` +
        `${n(k.login.small)} · ${n(k.login.large)} | ${times(k.login.ratio)} | ` +
        `${ms(k.login.smallP99)} · ${ms(k.login.largeP99)} | ${cpu(k.login)} | ` +
        `${k.fillSeconds.small.toFixed(1)} · ${k.fillSeconds.large.toFixed(1)} |`,
    );
  return lines;
}

function indexTable(result) {
  const lines = [
    '| store | `list` p50 ms (few · many) | many ÷ few | `revokeAll` p50 ms (few · many) | many ÷ few | p99 ms list · revokeAll (many) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const k of result.kinds) {
    const u = k.userIndex;
    if (u.missing) {
      lines.push(`| ${k.title} | not measurable: ${u.missing} | | | | |`);
      continue;
    }
    lines.push(
      `| ${k.title} | ${ms(u.small.list.p50)} · ${ms(u.large.list.p50)} | ${times(u.large.list.p50 / u.small.list.p50)} | ` +
        `${ms(u.small.revokeAll.p50)} · ${ms(u.large.revokeAll.p50)} | ${times(u.large.revokeAll.p50 / u.small.revokeAll.p50)} | ` +
        `${ms(u.large.list.p99)} · ${ms(u.large.revokeAll.p99)} |`,
    );
  }
  return lines;
}

function sweepTable(result) {
  const lines = [
    '| store | expired sessions | written in s | swept in s | per second | page views/s | p50/p99/max ms without | p50/p99/max ms during | p99 during ÷ without |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const k of result.kinds) {
    const s = k.sweep;
    if (!s) continue;
    const lat = (m) => `${ms(m.p50)}/${ms(m.p99)}/${ms(m.max)}`;
    lines.push(
      `| ${k.title} | ${n(s.expired)} | ${s.fillSeconds.toFixed(1)} | ${s.seconds.toFixed(1)} | ${n(s.perSecond)} | ${s.without.rate} | ` +
        `${lat(s.without)} | ${lat(s.during)} | ${times(s.during.p99 / s.without.p99)} |`,
    );
  }
  return lines;
}

export function scaleMarkdown(result) {
  const m = result.machine;
  const s = result.settings;
  const load = (l) => l.map((v) => v.toFixed(1)).join(', ');
  return `${[
    `Measured ${result.date.slice(0, 10)} on ${m.cpus} × ${m.cpuModel} (${m.memoryGiB} GiB), Node ${m.node}; load average ${load(result.loadAverage.before)} ` +
      `at the start, ${load(result.loadAverage.after)} at the end. Our stores as the app builds them, with \`SESSION_TOUCH_AFTER=0\` (every page view's ` +
      `touch reaches the store) and no periodic sweep; ${s.concurrency} calls in flight, ${s.rounds} interleaved round(s) of ${s.seconds} s per size and ` +
      `operation, medians ("many ÷ few": the median of each round's ratio of ops/s). Took ${result.seconds} s.`,
    '',
    ...speedTable(result),
    '',
    `The per-user index: \`UserSessions.list\` (${s.listRuns} runs) and \`revokeAll\` (${s.revokeRuns} runs, three sessions each) for one user ` +
      'of three sessions, among the stored sessions of other users (three each):',
    '',
    ...indexTable(result),
    '',
    `The expiry sweep: expired sessions added to the many, then page views at a steady ${s.rate} a second for ${s.quietSeconds} s, then again ` +
      "while the store's `removeExpired` runs in its default batches (as the periodic sweep runs it); latency counted from when each view was due:",
    '',
    ...sweepTable(result),
  ].join('\n')}\n`;
}
