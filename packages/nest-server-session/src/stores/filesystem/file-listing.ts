import type { SessionData } from 'express-session';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { sessionIdOfKey } from '../../session-id.js';
import type { SessionListing } from '../store.contract.js';
import { guard, safeFileError } from './file-errors.js';
import { keyOfFileName, sessionFileName } from './file-names.js';
import { namesIn } from './folder.js';
import { isLive, orNull } from './session-file.js';

/** Ids per page of a listing, and folder entries per step of count and clear. */
const DEFAULT_PAGE = 1000;

/** What the listing needs of the store: reading and removing one session file by name. */
export interface SessionFiles {
  /** The live session in the file called `name`, or null. */
  load(name: string): Promise<SessionData | null>;
  /** Removes the file called `name` as `destroy` does; true when it held a live session. */
  remove(name: string): Promise<boolean>;
}

interface OwnFile {
  sid: string;
  name: string;
}

/**
 * The sessions of one prefix in the folder: files whose name decodes to exactly the prefix
 * plus a session id (`app` never claims `app2…`'s files). The folder is streamed, a batch of
 * entries at a time, and only files still live count.
 */
export class FileListing implements SessionListing {
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly files: SessionFiles,
  ) {}

  async *ids(pageSize = DEFAULT_PAGE): AsyncIterable<string[]> {
    let page: string[] = [];
    try {
      for await (const batch of this.ownFiles(pageSize))
        for (const sid of await this.liveAmong(batch)) {
          page.push(sid);
          if (page.length < pageSize) continue;
          yield page;
          page = [];
        }
    } catch (err) {
      throw safeFileError('listing', err);
    }
    if (page.length > 0) yield page;
  }

  loadMany(sids: string[]): Promise<Map<string, SessionData>> {
    return guard('loading', async () => {
      const loaded = await Promise.all(
        sids.map(async (sid) => {
          const session = await this.files.load(
            sessionFileName(this.prefix + sid),
          );
          return session ? [[sid, session] as const] : [];
        }),
      );
      return new Map(loaded.flat());
    });
  }

  count(): Promise<number> {
    return guard('count', async () => {
      let count = 0;
      for await (const batch of this.ownFiles(DEFAULT_PAGE))
        count += (await this.liveAmong(batch)).length;
      return count;
    });
  }

  /** Removes every file of the prefix, expired ones too; counts the live ones. */
  clear(): Promise<number> {
    return guard('clear', async () => {
      let cleared = 0;
      for await (const batch of this.ownFiles(DEFAULT_PAGE)) {
        const removed = await Promise.all(
          batch.map(({ name }) => this.files.remove(name)),
        );
        cleared += removed.filter(Boolean).length;
      }
      return cleared;
    });
  }

  /** This prefix's session files, expired ones included, a folder batch at a time. */
  private async *ownFiles(size: number): AsyncGenerator<OwnFile[]> {
    for await (const names of namesIn(this.dir, size)) {
      const own = names.flatMap((name) => {
        const key = keyOfFileName(name);
        const sid = key === undefined ? key : sessionIdOfKey(key, this.prefix);
        return sid === undefined ? [] : [{ sid, name }];
      });
      if (own.length > 0) yield own;
    }
  }

  /** Ids of the files of `batch` that are not expired; by mtime, without reading them. */
  private async liveAmong(batch: OwnFile[]): Promise<string[]> {
    const stats = await Promise.all(
      batch.map(({ name }) => orNull(fs.lstat(join(this.dir, name)))),
    );
    return batch.filter((_, i) => isLive(stats[i])).map(({ sid }) => sid);
  }
}
