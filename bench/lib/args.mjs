/** The command line of a benchmark: `--quick`, `--name=value` settings and `--stores=a,b`. */
import { STORE_KINDS } from './store-servers.mjs';

export const quick = process.argv.includes('--quick');

/** The value of `--name=value`, or undefined. */
export function option(name) {
  const prefix = `--${name}=`;
  return process.argv
    .find((arg) => arg.startsWith(prefix))
    ?.slice(prefix.length);
}

/** A number from `--name=value`, or `fallback`; anything else fails the run at once. */
export function numberOption(name, fallback) {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

/** The store kinds of `--stores=redis,sqlite,...` (all by default), in the benchmark's order. */
export function storeKinds() {
  const raw = option('stores');
  if (raw === undefined) return STORE_KINDS;
  const asked = raw.split(',').map((kind) => kind.trim());
  const unknown = asked.filter((kind) => !STORE_KINDS.includes(kind));
  if (unknown.length > 0)
    throw new Error(
      `unknown store kind(s) ${unknown.join(', ')}; known: ${STORE_KINDS.join(', ')}`,
    );
  return STORE_KINDS.filter((kind) => asked.includes(kind));
}
