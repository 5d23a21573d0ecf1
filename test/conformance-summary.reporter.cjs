/**
 * Prints one line per store after the e2e run: how many conformance tests passed, failed or
 * could not run there, and why (the skipped test's name says it). Stores are the describe
 * blocks "conformance: <store>" of store-conformance.e2e-spec.ts. Then it names every test of
 * any suite that did not run, which jest's default reporter only counts.
 */
const TITLE = /^conformance: (.+)$/;
/** How a deliberate skip's name says why it did not run. */
const SKIP_REASON = /NOT RUN|not applicable/;

class ConformanceSummaryReporter {
  onRunComplete(_contexts, results) {
    this.printConformance(results);
    this.printNotRun(results);
  }

  printNotRun(results) {
    const notRun = results.testResults.flatMap((file) =>
      file.testResults
        // Skips in these suites name their reason; other skips are tests left out by -t.
        .filter(
          (test) => test.status === 'pending' && SKIP_REASON.test(test.title),
        )
        .map(
          (test) => `  - ${[...test.ancestorTitles, test.title].join(' > ')}`,
        ),
    );
    if (notRun.length === 0) return;
    process.stdout.write(
      `Tests not run here (${notRun.length}):\n${notRun.join('\n')}\n\n`,
    );
  }

  printConformance(results) {
    const stores = new Map();
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        const match = TITLE.exec(test.ancestorTitles[0] ?? '');
        if (!match) continue;
        const row = stores.get(match[1]) ?? {
          passed: 0,
          failed: 0,
          notRun: 0,
          notes: [],
        };
        if (test.status === 'passed') row.passed += 1;
        else if (test.status === 'failed') row.failed += 1;
        // Skips this suite makes name their reason; other skips are tests left out by -t.
        else if (SKIP_REASON.test(test.title)) {
          row.notRun += 1;
          row.notes.push(
            [...test.ancestorTitles.slice(1), test.title].join(' > '),
          );
        }
        stores.set(match[1], row);
      }
    }
    if (stores.size === 0) return;
    const width = Math.max(...[...stores.keys()].map((name) => name.length), 5);
    const lines = [
      '',
      'Store conformance summary',
      `  ${'store'.padEnd(width)}  passed  failed  not run`,
    ];
    for (const [name, row] of stores) {
      if (row.passed + row.failed + row.notRun === 0) continue;
      const withoutServer = row.notes.some((note) => note.includes('NOT RUN'));
      const verdict =
        row.failed > 0
          ? 'FAIL'
          : withoutServer
            ? `NOT RUN against a server${row.passed ? ' (only the tests that need none)' : ''}`
            : row.passed === 0
              ? 'NOT RUN'
              : 'ok';
      lines.push(
        `  ${name.padEnd(width)}  ${String(row.passed).padStart(6)}  ${String(row.failed).padStart(6)}  ${String(row.notRun).padStart(7)}  ${verdict}`,
      );
      // One line per reason, however many tests it kept from running.
      const counted = new Map();
      for (const note of row.notes)
        counted.set(note, (counted.get(note) ?? 0) + 1);
      for (const [note, count] of counted)
        lines.push(
          `  ${' '.repeat(width)}  - ${note}${count > 1 ? ` (×${count})` : ''}`,
        );
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
}

module.exports = ConformanceSummaryReporter;
