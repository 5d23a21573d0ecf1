/**
 * Run by the filesystem store's specs as a separate process, to race it on one session folder:
 * - `increment <dir> <prefix> <sid> <times>`: adds 1 to the session's `n`, `times` times, each
 *   by load and compare-and-set replace, retrying on conflicts (a lost update shows in `n`);
 * - `hold-lock <dir> <prefix> <sid>`: takes the session's lock, says `locked` and waits to be
 *   killed, leaving the lock file behind;
 * - `index-churn <dir> <prefix> <user> <rounds> <tag>`: `rounds` times logs the user in on a
 *   new session and out again (index entry added, session written, session destroyed, entry
 *   removed: the user's folder empties each time), then logs in on 5 sessions that stay; the
 *   ids are `sessionId(tag + round)` and `sessionId(tag + 'k' + i)`.
 */
import type { SessionData } from 'express-session';
import { join } from 'node:path';
import { createSessionCodec } from '../common/session-codec.js';
import { session, sessionId } from '../common/store.fixtures.js';
import { FileLock } from './file-lock.js';
import { lockNameOf, sessionFileName } from './file-names.js';
import { FileSessionBackend } from './file.store.js';

const [mode, dir, prefix, name, count, tag] = process.argv.slice(2);
const open = () =>
  new FileSessionBackend(dir, prefix, createSessionCodec(), 10_000);

if (mode === 'increment') {
  const backend = open();
  const sid = name;
  for (let i = 0; i < Number(count); i++)
    for (;;) {
      const loaded = await backend.load(sid);
      if (!loaded) throw new Error('session gone');
      const n = (loaded.session as SessionData & { n: number }).n;
      const next = { ...loaded.session, n: n + 1 } as SessionData;
      const outcome = await backend.replace(sid, loaded.version, next, 60);
      if (outcome.status === 'replaced') break;
    }
} else if (mode === 'hold-lock') {
  const lock = lockNameOf(sessionFileName(prefix + name));
  await FileLock.acquire(join(dir, lock), performance.now() + 30_000);
  process.stdout.write('locked\n');
  setInterval(() => undefined, 60_000);
} else if (mode === 'index-churn') {
  const backend = open();
  const user = name;
  // In the order the module keeps: the entry before the session, removed after it.
  const logIn = async (sid: string) => {
    await backend.users.add(user, sid, { createdAt: Date.now() }, 60);
    await backend.create(sid, session({ user }), 60);
  };
  for (let i = 0; i < Number(count); i++) {
    const sid = sessionId(`${tag}${String(i).padStart(4, '0')}`);
    await logIn(sid);
    await backend.destroy(sid);
    await backend.users.remove(user, [sid]);
  }
  for (let i = 0; i < 5; i++) await logIn(sessionId(`${tag}k${i}`));
} else {
  throw new Error(`unknown mode ${mode}`);
}
