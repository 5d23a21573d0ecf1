import type { SessionData } from 'express-session';
import { escapeRegExp } from '../../escape-reg-exp.js';
import { SESSION_ID_PATTERN } from '../../session-id.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { SessionListing } from '../store.contract.js';
import {
  live,
  storedOf,
  type MongoSessionCollection,
} from './mongo-collection.js';

const DEFAULT_PAGE = 1000;

/** A session id, as {@link SESSION_ID_PATTERN} has it, without its anchors. */
const SESSION_ID = SESSION_ID_PATTERN.source.slice(1, -1);

/**
 * The `_id`s that are exactly `prefix` followed by a session id, so that `app` never claims
 * `app2…`'s sessions, and `x:[ab]:` or `.*` in a prefix match only themselves. Anchored and
 * escaped, the prefix is a literal that MongoDB answers with a range scan of the `_id` index.
 * The end is `(?![\s\S])`, not `$`: PCRE's `$` also matches before a final newline.
 */
export function ownIdFilter(prefix: string): { $regex: string } {
  return { $regex: `^${escapeRegExp(prefix)}${SESSION_ID}(?![\\s\\S])` };
}

/** The sessions of one prefix in the collection. */
export class MongoSessionListing implements SessionListing {
  private readonly own: { $regex: string };

  constructor(
    private readonly sessions: MongoSessionCollection,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
  ) {
    this.own = ownIdFilter(prefix);
  }

  /** Pages in `_id` order, each starting after the last id of the one before. */
  async *ids(pageSize = DEFAULT_PAGE): AsyncIterable<string[]> {
    let after: string | undefined;
    for (;;) {
      const id = after === undefined ? this.own : { ...this.own, $gt: after };
      const page = await this.sessions.call('ids', (c) =>
        c
          .find(
            { _id: id, ...live() },
            { projection: { _id: 1 }, sort: { _id: 1 }, limit: pageSize },
          )
          .toArray(),
      );
      const keys = page.map(({ _id: key }) => key);
      if (keys.length > 0) yield keys.map((key) => this.sidOf(key));
      if (keys.length < pageSize) return;
      after = keys[keys.length - 1];
    }
  }

  async loadMany(sids: string[]): Promise<Map<string, SessionData>> {
    const found = new Map<string, SessionData>();
    if (sids.length === 0) return found;
    const keys = sids.map((sid) => this.prefix + sid);
    const docs = await this.sessions.call('loadMany', (c) =>
      c
        .find({ _id: { $in: keys }, ...live() }, { projection: { session: 1 } })
        .toArray(),
    );
    for (const { _id: key, session: raw } of docs) {
      const session = this.codec.decode(storedOf(raw));
      if (session) found.set(this.sidOf(key), session);
    }
    return found;
  }

  count(): Promise<number> {
    return this.sessions.call('count', (c) =>
      c.countDocuments({ _id: this.own, ...live() }),
    );
  }

  /** Expired documents of the prefix go too (and count): nothing of it is left behind. */
  clear(): Promise<number> {
    return this.sessions.call(
      'clear',
      async (c) => (await c.deleteMany({ _id: this.own })).deletedCount,
    );
  }

  private sidOf(id: string): string {
    return id.slice(this.prefix.length);
  }
}
