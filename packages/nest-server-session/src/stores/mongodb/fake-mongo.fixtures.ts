/**
 * A recording stand-in for MongoClient, Db and Collection, for the MongoDB store's unit tests
 * (MongoDB cannot be installed where this project is built). It answers the operators the
 * store sends with MongoDB's semantics, and throws on any other, so a filter it does not know
 * fails the test instead of matching by accident. Like a server, it finds documents through
 * an index (`_id`'s, or one the store created) and counts the documents it examines; and
 * like a server started with `notablescan`, it refuses a filter no index serves, so a query
 * that would scan a collection fails the test. Not part of the build.
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
      case '$lt':
        return value != null && (value as string) < (arg as string);
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

/** One collection: its documents, its indexes, and what its queries examined. */
export class FakeCollection {
  readonly docs = new Map<string, Document>();
  /** Key patterns of the indexes created on it; the `_id` index is always there. */
  readonly indexes: Document[] = [];
  /** Documents its queries looked at, as MongoDB's `totalDocsExamined` counts them. */
  examined = 0;

  /** What the store's code gets as its Collection. */
  readonly driver = {
    createIndex: async (keys: Document, opts?: Document) => {
      this.record('createIndex', opts ? [keys, opts] : [keys]);
      this.indexes.push(keys);
      return Object.keys(keys).join('_');
    },
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
      if (opts?.returnDocument !== 'after')
        throw new Error('fake returns the document after the update only');
      const [found] = this.matching(filter);
      const written = this.update(found, filter, update, opts);
      return written && project(written, opts.projection as Document);
    },
    updateOne: async (filter: Document, update: Document, opts?: Document) => {
      this.record('updateOne', [filter, update, opts]);
      const [found] = this.matching(filter);
      const written = this.update(found, filter, update, opts);
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

  constructor(
    readonly name: string,
    private readonly record: (method: string, args: unknown[]) => void,
  ) {}

  /** Stores `doc` after a BSON round trip, so it reads back as the driver returns it. */
  put(doc: Document): void {
    this.docs.set(idOf(doc), BSON.deserialize(BSON.serialize(doc)));
  }

  /**
   * The documents `filter` matches, looked up as a server would: through the first index
   * whose leading field the filter names, examining the documents that field's condition
   * selects. A filter no index serves would be a collection scan: refused.
   */
  private matching(filter: Document): Document[] {
    const leads = ['_id', ...this.indexes.map((keys) => Object.keys(keys)[0])];
    const lead = leads.find((field) => field in filter);
    if (lead === undefined)
      // What a server started with `--setParameter notablescan=1` answers.
      throw new MongoServerError({
        message: `error processing query: ns=appdb.${this.name} planner returned error :: caused by :: No indexed plans available, and running with 'notablescan' (filter on ${Object.keys(filter).join(', ') || 'nothing'})`,
        code: 291,
        codeName: 'NoQueryExecutionPlans',
      });
    const examined = [...this.docs.values()].filter((doc) =>
      fieldMatches(doc[lead], filter[lead]),
    );
    this.examined += examined.length;
    return examined.filter((doc) => matches(doc, filter));
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

  /** `$set` and `$inc` on the matching document `found`, or on a new one for an upsert. */
  private update(
    found: Document | undefined,
    filter: Document,
    update: Document,
    opts?: Document,
  ): Document | null {
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

export class FakeMongo {
  /** Every call, `[method, ...args]`, of the client and of every collection, in order. */
  readonly calls: unknown[][] = [];
  /** The collection of each call (undefined for the client's own), beside `calls`. */
  private readonly callCollections: (string | undefined)[] = [];
  /** Connection attempts that fail before one succeeds. */
  failConnects = 0;
  /**
   * Errors the next calls throw, by method name (`find`), or by collection and method
   * (`sessions_users.find`) for one collection's calls only.
   */
  readonly failures = new Map<string, Error>();
  /** Run (once) just before the next call of a method, keyed as `failures` are. */
  readonly before = new Map<string, () => void>();
  private readonly collections = new Map<string, FakeCollection>();

  readonly client = {
    connect: async () => {
      this.record(undefined, 'connect', []);
      if (this.failConnects-- > 0)
        throw new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
      return this.client;
    },
    close: async () => void this.record(undefined, 'close', []),
    db: (name?: string) => {
      this.record(undefined, 'db', [name]);
      return {
        collection: (collectionName: string) => {
          this.record(undefined, 'collection', [collectionName]);
          return this.in(collectionName).driver;
        },
        command: async (command: Document) => {
          this.record(undefined, 'command', [command]);
          return { ok: 1 };
        },
      };
    },
  };

  /** @param sessions the collection `docs` and `put` are about */
  constructor(private readonly sessions = 'sessions') {}

  asClient(): MongoClient {
    return this.client as unknown as MongoClient;
  }

  /** The collection `name` (made on first mention, as MongoDB does). */
  in(name: string): FakeCollection {
    let collection = this.collections.get(name);
    if (!collection) {
      collection = new FakeCollection(name, (method, args) =>
        this.record(name, method, args),
      );
      this.collections.set(name, collection);
    }
    return collection;
  }

  /** Documents of the sessions collection. */
  get docs(): Map<string, Document> {
    return this.in(this.sessions).docs;
  }

  /** Stores `doc` in the sessions collection (see {@link FakeCollection.put}). */
  put(doc: Document): void {
    this.in(this.sessions).put(doc);
  }

  /** The arguments of each call of `method`, on `collection` only when it is given. */
  callsOf(method: string, collection?: string): unknown[][] {
    return this.calls
      .filter(
        ([name], i) =>
          name === method &&
          (collection === undefined || this.callCollections[i] === collection),
      )
      .map(([, ...args]) => args);
  }

  /** Forgets the calls so far and what every collection examined: a test's own start. */
  resetCalls(): void {
    this.calls.length = 0;
    this.callCollections.length = 0;
    for (const collection of this.collections.values()) collection.examined = 0;
  }

  /** The calls on collections so far, as `collection.method`, in order. */
  trail(): string[] {
    return this.calls.flatMap(([name], i) =>
      this.callCollections[i] === undefined
        ? []
        : [`${this.callCollections[i]}.${String(name)}`],
    );
  }

  private record(
    collection: string | undefined,
    name: string,
    args: unknown[],
  ): void {
    this.calls.push([name, ...args]);
    this.callCollections.push(collection);
    const keys = [`${collection}.${name}`, name];
    for (const key of keys) {
      const hook = this.before.get(key);
      this.before.delete(key);
      hook?.();
    }
    for (const key of keys) {
      const failure = this.failures.get(key);
      this.failures.delete(key);
      if (failure) throw failure;
    }
  }
}
