/**
 * What a benchmark must undo (stop servers and apps, drop tables, remove folders), newest first,
 * exactly once: at the end, after a failure, or on Ctrl-C.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const log = (line) => process.stdout.write(`${line}\n`);

export function createCleanup(name) {
  const undo = [];
  let cleaning;
  const cleanup = {
    /** Registers `fn` to run at clean-up; returns it, to run it earlier (then only once). */
    add(what, fn) {
      const entry = { what, fn, done: false };
      undo.push(entry);
      return async () => {
        if (entry.done) return;
        entry.done = true;
        await fn();
      };
    },
    run() {
      cleaning ??= (async () => {
        while (undo.length > 0) {
          const entry = undo.pop();
          if (entry.done) continue;
          entry.done = true;
          try {
            await entry.fn();
          } catch (err) {
            log(`cleanup: could not ${entry.what}: ${err.message}`);
            process.exitCode = 1;
          }
        }
      })();
      return cleaning;
    },
    /** A fresh folder under the system's temp folder, removed at clean-up. */
    async tempDir(label) {
      const dir = await mkdtemp(join(tmpdir(), `${name}-${label}-`));
      cleanup.add(`remove ${dir}`, () =>
        rm(dir, { recursive: true, force: true }),
      );
      return dir;
    },
  };
  return cleanup;
}

/**
 * Runs `main(cleanup)` and cleans up after it, also on SIGINT/SIGTERM; a failure is printed
 * and sets a non-zero exit code.
 */
export async function runBenchmark(name, main) {
  const cleanup = createCleanup(name);
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      log(`\n${signal}: stopping everything ${name} started`);
      void cleanup.run().finally(() => process.exit(1));
    });
  try {
    await main(cleanup);
  } catch (err) {
    // A driver's message may hold a whole statement (a bulk INSERT): the start says enough.
    const message = String(err?.message ?? err);
    const where = String(err?.stack ?? '')
      .split('\n')
      .filter((line) => line.startsWith('    at '))
      .slice(0, 8);
    log(
      `\n${name} FAILED: ${message.length > 1000 ? `${message.slice(0, 1000)}…` : message}\n${where.join('\n')}`,
    );
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}
