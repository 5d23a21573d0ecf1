import { Logger } from '@nestjs/common';
import type { SweepOptions } from '../store.contract.js';

/**
 * Deletes expired sessions every `intervalSeconds` on stores that keep them until asked
 * (sql, filesystem). Sweeps never overlap, a failed one is logged and the next one tries again,
 * and the timer does not keep the process alive. Returns a function that stops the sweeps: a
 * sweep in progress stops after its current batch, and is waited for, so the store is not
 * closed under it.
 */
export function startExpirySweeps(
  removeExpired: ((options?: SweepOptions) => Promise<number>) | undefined,
  intervalSeconds: number,
): () => Promise<void> {
  if (!removeExpired || intervalSeconds <= 0) return () => Promise.resolve();
  const logger = new Logger('SessionCleanup');
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  const sweep = () => {
    if (running) return;
    running = removeExpired({ signal: stopping.signal, paced: true })
      .then(
        (removed) => {
          if (removed > 0)
            logger.log(
              `Removed ${removed} expired session${removed === 1 ? '' : 's'}`,
            );
        },
        (err: unknown) =>
          logger.warn(
            `Sweep of expired sessions failed: ${err instanceof Error ? err.message : String(err)}`,
          ),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(sweep, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    stopping.abort();
    await running;
  };
}
