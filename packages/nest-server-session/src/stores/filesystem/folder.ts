import * as fs from 'node:fs/promises';

/** Entries read from the folder per system call. */
const READ_AHEAD = 256;

/**
 * The names in `dir`, `size` at a time, read as they are asked for: a folder of 100k sessions
 * is never held in memory at once. Stopping early closes the folder. Names added or removed
 * meanwhile may or may not show; every other name shows once.
 */
export async function* namesIn(
  dir: string,
  size: number,
): AsyncGenerator<string[]> {
  const folder = await fs.opendir(dir, { bufferSize: READ_AHEAD });
  let batch: string[] = [];
  for await (const entry of folder) {
    batch.push(entry.name);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * `work` on every item, at most `limit` at a time, results in order. File system calls run on
 * libuv's few threads; more in flight only piles up callbacks that the event loop then runs in
 * one go, delaying requests.
 */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}
