/** Where the benchmarks write their results: bench/results/<stem>.<extension>. */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { log } from './cleanup.mjs';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes each of `files` ({ json: result object, md: text, svg: text }) as `<stem>.<key>`. */
export async function writeResults(stem, files) {
  await mkdir(RESULTS, { recursive: true });
  for (const [extension, content] of Object.entries(files))
    await writeFile(
      `${RESULTS}${stem}.${extension}`,
      extension === 'json' ? `${JSON.stringify(content, null, 2)}\n` : content,
    );
  log(`wrote bench/results/${stem}.{${Object.keys(files).join(',')}}`);
}
