/** The store-level benchmark's tables: printed as a summary, and as Markdown for the README. */
import { CHECKS } from './store-checks.mjs';

const round = (n) =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : Math.round(n).toLocaleString('en-US');
const times = (n) => `${n.toFixed(2)}×`;
const latency = (m) => `${m.p50.toFixed(1)}/${m.p99.toFixed(1)}`;
const pair = (a, b) => `${round(a)} · ${round(b)}`;

/** The comparisons of every kind as flat rows. */
const comparisonRows = (result) =>
  result.kinds.flatMap((kind) =>
    kind.comparisons.map((row) => ({ store: kind.title, ...row })),
  );

export function printSummary(result) {
  console.table(
    comparisonRows(result).map((row) => ({
      store: row.store,
      operation: row.title,
      ours: row.oursLabel,
      'ours ops/s': Math.round(row.ours.opsPerSec),
      peer: row.peer,
      'peer ops/s': Math.round(row.theirs.opsPerSec),
      'ours ÷ peer': Number(row.ratio.toFixed(2)),
      'CPU µs/op ours·peer': pair(
        row.ours.cpuMicrosPerOp,
        row.theirs.cpuMicrosPerOp,
      ),
    })),
  );
  for (const kind of result.kinds) {
    console.log(`correctness, ${kind.title}:`);
    console.table(
      Object.fromEntries(
        Object.entries(kind.checks).map(([side, checks]) => [
          side,
          Object.fromEntries(
            CHECKS.map((c) => [
              c.id,
              `${checks[c.id].ok ? '✓' : '✗'} ${checks[c.id].detail}`,
            ]),
          ),
        ]),
      ),
    );
  }
}

function speedTable(result) {
  const lines = [
    '| store | operation | ours | ops/s | peer | ops/s | ours ÷ peer | p50/p99 ms ours · peer | client CPU µs/op ours · peer | server CPU µs/op ours · peer |',
    '|---|---|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of comparisonRows(result)) {
    const server =
      // Absent (or null, read back from JSON) where the server is not the benchmark's own.
      !Number.isFinite(row.ours.serverCpuMicrosPerOp)
        ? '–'
        : pair(row.ours.serverCpuMicrosPerOp, row.theirs.serverCpuMicrosPerOp);
    const errors =
      row.ours.errors + row.theirs.errors > 0
        ? ` (failed calls: ${row.ours.errors} · ${row.theirs.errors})`
        : '';
    lines.push(
      `| ${row.store} | ${row.title} | ${row.oursLabel} | ${round(row.ours.opsPerSec)} | ${row.peer} | ${round(row.theirs.opsPerSec)} | ` +
        `${row.ratio < 0.995 ? `**${times(row.ratio)}**` : times(row.ratio)}${errors} | ${latency(row.ours)} · ${latency(row.theirs)} | ` +
        `${pair(row.ours.cpuMicrosPerOp, row.theirs.cpuMicrosPerOp)} | ${server} |`,
    );
  }
  return lines;
}

/** What a failed check means, in a few words. */
const FAILURE = {
  roundTrip: 'loses a session it just stored',
  expiryRecorded: 'records the wrong expiry',
  expires: 'keeps an expired session',
  touchExpired: 'a touch revives an expired session',
  touchUnknown: 'a touch creates an unknown session',
  unknownMiss: 'an unknown id is a slow error',
  destroy: 'destroy leaves it',
};

/**
 * ours ÷ peer (ops/s) for each store and peer, one column per operation: ours as shipped, and
 * with touchAfter 0 where that is the fairer match (a touch; a page view whose touch the peer
 * always sends). A peer that fails any correctness check says so.
 */
export function matrixTable(result) {
  const columns = [
    ['get', 'ours'],
    ['write', 'ours'],
    ['touch', 'ours, touchAfter 0'],
    ['page-view', 'ours'],
    ['page-view', 'ours, touchAfter 0'],
    ['create', 'ours'],
    ['destroy', 'ours'],
  ];
  const title = ([id, label]) => {
    const op = result.operations.find((o) => o.id === id)?.title ?? id;
    return label === 'ours' || id === 'touch' ? op : `${op}, touchAfter 0`;
  };
  const lines = [
    `| store | peer | peer correct? | ${columns.map(title).join(' | ')} |`,
    `|---|---|---|${columns.map(() => '---:').join('|')}|`,
  ];
  for (const kind of result.kinds) {
    const peers = [...new Set(kind.comparisons.map((row) => row.peer))];
    for (const peer of peers) {
      const failed = CHECKS.filter((c) => !kind.checks[peer]?.[c.id]?.ok);
      const cells = columns.map(([id, label]) => {
        const row = kind.comparisons.find(
          (r) => r.peer === peer && r.operation === id && r.oursLabel === label,
        );
        if (!row) return '–';
        return row.ratio < 0.995 ? `**${times(row.ratio)}**` : times(row.ratio);
      });
      const correct = failed.length
        ? `✗ ${failed.map((c) => FAILURE[c.id] ?? c.id).join('; ')}`
        : '✓';
      lines.push(
        `| ${kind.title} | ${peer} | ${correct} | ${cells.join(' | ')} |`,
      );
    }
  }
  return lines;
}

function checksTable(result) {
  const lines = [
    `| store | side | ${CHECKS.map((c) => c.title).join(' | ')} |`,
    `|---|---|${CHECKS.map(() => '---').join('|')}|`,
  ];
  for (const kind of result.kinds)
    for (const [side, checks] of Object.entries(kind.checks))
      lines.push(
        `| ${kind.title} | ${side} | ${CHECKS.map((c) => `${checks[c.id].ok ? '✓' : '**✗**'} ${checks[c.id].detail}`).join(' | ')} |`,
      );
  return lines;
}

export function markdown(result, chartFile) {
  const m = result.machine;
  const s = result.settings;
  const load = (l) => l.map((v) => v.toFixed(1)).join(', ');
  const lines = [
    `Measured ${result.date.slice(0, 10)} on ${m.cpus} × ${m.cpuModel} (${m.memoryGiB} GiB, ${m.platform}), Node ${m.node}; ` +
      `load average ${load(result.loadAverage.before)} at the start, ${load(result.loadAverage.after)} at the end. ` +
      `${s.sessions.toLocaleString('en-US')} stored sessions per side, ${s.concurrency} calls in flight, ${s.rounds} interleaved round(s) of ${s.seconds} s ` +
      `per side and operation after ${s.warmupSeconds} s of warm-up; medians over the rounds, "ours ÷ peer" the median of each round's ratio of ops/s ` +
      `(**bold** where ours is slower). Client CPU is the benchmark process's (the store's code and its driver); server CPU only where the server is ` +
      `the benchmark's own (redis-server, memcached). Took ${result.seconds} s.`,
    '',
    'What each operation is, for ours and for the peer:',
    '',
    ...result.operations.map(
      (o) => `- **${o.title}**: ours: ${o.ours}; peer: ${o.peer}.`,
    ),
    '- "ours, touchAfter 0" is our store with `SESSION_TOUCH_AFTER=0`, so that every touch reaches the store as the peers\' do; ' +
      'as shipped (`touchAfter` = lifetime / 10) a page view of a session written or refreshed within `touchAfter` costs one read and no touch.',
    '',
    'ours ÷ peer, ops/s, per operation (**bold** where ours is slower):',
    '',
    ...matrixTable(result),
    '',
    'In full:',
    '',
    ...speedTable(result),
    '',
    `![ours ÷ peer, ops/s per operation](${chartFile})`,
    '',
    'Correctness, the same checks through the `Store` interface on both sides (✓ holds, ✗ does not; facts, not a pass/fail of the run):',
    '',
    ...checksTable(result),
    '',
    'Setup (filling each side through its own `set`, then loading the sessions the writes use), seconds:',
    '',
    ...result.kinds.map(
      (k) =>
        `- ${k.title}: ${Object.entries(k.setupSeconds)
          .map(([side, t]) => `${side} ${t.toFixed(1)}`)
          .join(', ')}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
