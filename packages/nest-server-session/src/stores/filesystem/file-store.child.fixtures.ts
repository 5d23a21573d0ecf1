/**
 * Run by file.store.spec.ts as a separate process, to race it on one session folder:
 * - `increment <dir> <prefix> <sid> <times>`: adds 1 to the session's `n`, `times` times, each
 *   by load and compare-and-set replace, retrying on conflicts (a lost update shows in `n`);
 * - `hold-lock <dir> <prefix> <sid>`: takes the session's lock, says `locked` and waits to be
 *   killed, leaving the lock file behind.
 */
import type { SessionData } from 'express-session';
import { join } from 'node:path';
import { createSessionCodec } from '../common/session-codec.js';
import { FileLock } from './file-lock.js';
import { lockNameOf, sessionFileName } from './file-names.js';
import { FileSessionBackend } from './file.store.js';

const [mode, dir, prefix, sid, times] = process.argv.slice(2);

if (mode === 'increment') {
  const backend = new FileSessionBackend(
    dir,
    prefix,
    createSessionCodec(),
    10_000,
  );
  for (let i = 0; i < Number(times); i++)
    for (;;) {
      const loaded = await backend.load(sid);
      if (!loaded) throw new Error('session gone');
      const n = (loaded.session as SessionData & { n: number }).n;
      const next = { ...loaded.session, n: n + 1 } as SessionData;
      const outcome = await backend.replace(sid, loaded.version, next, 60);
      if (outcome.status === 'replaced') break;
    }
} else if (mode === 'hold-lock') {
  const name = lockNameOf(sessionFileName(prefix + sid));
  await FileLock.acquire(join(dir, name), performance.now() + 30_000);
  process.stdout.write('locked\n');
  setInterval(() => undefined, 60_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
