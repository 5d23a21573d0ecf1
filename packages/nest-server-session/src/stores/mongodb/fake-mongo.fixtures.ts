/**
 * A recording stand-in for MongoClient, Db and Collection, for the MongoDB store's unit tests
 * (MongoDB cannot be installed where this project is built). It answers the operators the
 * store sends with MongoDB's semantics, and throws on any other, so a filter it does not know
 * fails the test instead of matching by accident. Not part of the build.
 */
import {
  BSON,
  MongoNetworkError,
  MongoServerError,
  type Document,
  type MongoClient,
} from 'mongodb';

const idOf = ({ _id: id }: Document) => id as string;

const isOperators = (cond: unknown): cond is Document =>
  typeof cond === 'object' &&
  cond !== null &&
  !(cond instanceof Date) &&
  Object.keys(cond).every((key) => key.startsWith('$'));

const same = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date
    ? a.getTime() === b.getTime()
    : a === b;

/** One field's condition; a null in `$in` matches a missing field too, as in MongoDB. */
function fieldMatches(value: unknown, cond: unknown): boolean {
  if (!isOperators(cond)) return same(value, cond);
  return Object.entries(cond).every(([op, arg]) => {
    switch (op) {
      case '$exists':
        return (value !== undefined) === arg;
      case '$gt':
        return value != null && (value as string) > (arg as string);
      case '$in':
        return (arg as unknown[]).some((a) =>
          a === null ? value == null : same(value, a),
        );
      case '$regex':
        // The store's patterns mean the same in JavaScript as in MongoDB's PCRE.
        return (
          typeof value === 'string' && new RegExp(arg as string).test(value)
        );
      default:
        throw new Error(`fake cannot match ${op}`);
    }
  });
}

export function matches(doc: Document, filter: Document): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key.startsWith('$')) throw new Error(`fake cannot match ${key}`);
    return fieldMatches(doc[key], cond);
  });
}

/** An inclusion projection (`{ field: 1 }`); `_id` always comes along. */
function project(doc: Document, projection?: Document): Document {
  if (!projection) return doc;
  const kept = ['_id', ...Object.keys(projection)];
  return Object.fromEntries(
    Object.entries(doc).filter(([key]) => kept.includes(key)),
  );
}

export class FakeMongo {
  readonly calls: unknown[][] = [];
  readonly docs = new Map<string, Document>();
  /** Connection attempts that fail before one succeeds. */
  failConnects = 0;
  /** Errors the next calls of a collection method throw, by method name. */
  readonly failures = new Map<string, Error>();

  readonly collection = {
    createIndex: async (...args: unknown[]) => this.record('createIndex', args),
    findOne: async (filter: Document, opts?: Document) => {
      this.record('findOne', [filter, opts]);
      const [found] = this.matching(filter);
      return found ? project(found, opts?.projection as Document) : null;
    },
    find: (filter: Document, opts: Document = {}) => {
      this.record('find', [filter, opts]);
      return { toArray: async () => this.found(filter, opts) };
    },
    countDocuments: async (filter: Document) => {
      this.record('countDocuments', [filter]);
      return this.matching(filter).length;
    },
    findOneAndUpdate: async (
      filter: Document,
      update: Document,
      opts?: Document,
    ) => {
      this.record('findOneAndUpdate', [filter, update, opts]);
      const written = this.update(filter, update, opts);
      if (opts?.returnDocument !== 'after')
        throw new Error('fake returns the document after the update only');
      return written && project(written, opts.projection as Document);
    },
    updateOne: async (filter: Document, update: Document, opts?: Document) => {
      this.record('updateOne', [filter, update, opts]);
      const [found] = this.matching(filter);
      const written = this.update(filter, update, opts);
      return {
        matchedCount: found ? 1 : 0,
        upsertedCount: !found && written ? 1 : 0,
      };
    },
    deleteOne: async (filter: Document) => {
      this.record('deleteOne', [filter]);
      const [found] = this.matching(filter);
      if (found) this.docs.delete(idOf(found));
      return { deletedCount: found ? 1 : 0 };
    },
    deleteMany: async (filter: Document) => {
      this.record('deleteMany', [filter]);
      const found = this.matching(filter);
      found.forEach((doc) => this.docs.delete(idOf(doc)));
      return { deletedCount: found.length };
    },
  };

  readonly client = {
    connect: async () => {
      this.record('connect', []);
      if (this.failConnects-- > 0)
        throw new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
      return this.client;
    },
    close: async () => void this.record('close', []),
    db: (name?: string) => {
      this.record('db', [name]);
      return {
        collection: (collectionName: string) => {
          this.record('collection', [collectionName]);
          return this.collection;
        },
        command: async (command: Document) => {
          this.record('command', [command]);
          return { ok: 1 };
        },
      };
    },
  };

  asClient(): MongoClient {
    return this.client as unknown as MongoClient;
  }

  /** Stores `doc` after a BSON round trip, so it reads back as the driver returns it. */
  put(doc: Document): void {
    this.docs.set(idOf(doc), BSON.deserialize(BSON.serialize(doc)));
  }

  callsOf(name: string): unknown[][] {
    return this.calls.filter(([n]) => n === name).map(([, ...args]) => args);
  }

  private record(name: string, args: unknown[]): void {
    this.calls.push([name, ...args]);
    const failure = this.failures.get(name);
    this.failures.delete(name);
    if (failure) throw failure;
  }

  private matching(filter: Document): Document[] {
    return [...this.docs.values()].filter((doc) => matches(doc, filter));
  }

  private found(filter: Document, { sort, limit, projection }: Document) {
    const docs = this.matching(filter);
    if (sort) {
      if (JSON.stringify(sort) !== '{"_id":1}')
        throw new Error('fake sorts by _id only');
      docs.sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    }
    return docs
      .slice(0, (limit as number | undefined) || undefined)
      .map((doc) => project(doc, projection as Document));
  }

  /** `$set` and `$inc` on the matching document, or on a new one for an upsert. */
  private update(
    filter: Document,
    update: Document,
    opts?: Document,
  ): Document | null {
    const [found] = this.matching(filter);
    if (!found && opts?.upsert !== true) return null;
    const { $set = {}, $inc = {}, ...rest } = update;
    if (Object.keys(rest).length > 0)
      throw new Error(`fake cannot update with ${Object.keys(rest).join()}`);
    const doc: Document = { ...(found ?? { _id: idOf(filter) }), ...$set };
    for (const [field, by] of Object.entries($inc as Document)) {
      const value: unknown = doc[field];
      if (value !== undefined && typeof value !== 'number')
        // As the server says it: quoting the document's _id.
        throw new MongoServerError({
          message: `Cannot apply $inc to a value of non-numeric type. {_id: "${idOf(doc)}"} has the field '${field}' of non-numeric type ${value === null ? 'null' : typeof value}`,
          code: 14,
          codeName: 'TypeMismatch',
        });
      doc[field] = ((value as number | undefined) ?? 0) + (by as number);
    }
    this.put(doc);
    return this.docs.get(idOf(doc))!;
  }
}
