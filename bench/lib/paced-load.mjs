/**
 * An open-loop load: calls started at a fixed rate whatever the answers, as visitors arrive,
 * each timed from when it was due (so an event loop that stalls shows as latency instead of as
 * fewer calls), until a promise settles.
 */
import { performance } from 'node:perf_hooks';
import { percentile } from './store-workload.mjs';

const TICK_MS = 5;

/** Runs `call()` `rate` times a second until `until` settles; resolves with latencies in ms. */
export async function pacedLoad(call, { rate, until }) {
  const latencies = [];
  const running = new Set();
  let errors = 0;
  let firstError;
  const started = performance.now();
  let sent = 0;
  const launch = () => {
    const now = performance.now();
    // Every call due by now, each timed from its own due time.
    while (started + (sent * 1000) / rate <= now) {
      const due = started + (sent++ * 1000) / rate;
      const pending = call().then(
        () => latencies.push(performance.now() - due),
        (err) => {
          errors++;
          firstError ??= err;
        },
      );
      running.add(pending);
      void pending.finally(() => running.delete(pending));
    }
  };
  const timer = setInterval(launch, TICK_MS);
  try {
    await until;
  } finally {
    clearInterval(timer);
    await Promise.allSettled([...running]);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    calls: latencies.length,
    rate,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    errors,
    firstError: firstError && String(firstError.message ?? firstError),
  };
}
