import { createHash } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  CreateOwned,
  DestroyOwned,
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionListing,
  SessionVersion,
  StoreHealth,
} from '../store.contract.js';
import { closeRedis, connectRedis } from './redis.client.js';
import { redisHealth } from './redis-health.js';
import { redisListing } from './redis-listing.js';
import type { RedisClient, RedisConnection } from './redis-mode.js';
import { type RedisUserIndex, redisUserIndex } from './redis-user-index.js';
import {
  defineCreateOwnedSession,
  defineDestroyOwnedSession,
} from './owned-session.scripts.js';
import { defineReplaceSession, type ReplaceReply } from './replace.script.js';

/** A session encoded for Redis, as it passes through connect-redis's serializer and TTL hooks. */
interface Outgoing {
  bytes: string | Buffer;
  ttlSeconds: number;
}

/**
 * Sessions in Redis, one string key `prefix + sid` each, with the stored bytes as the version
 * (the replace script compares their SHA-1, computed only then: most sessions read are never
 * written back). connect-redis creates them (its key naming, serializer and TTL); `replace` is
 * a Lua compare-and-set on the one key, and touch and destroy report what they found. One
 * command per call, each naming one key: the same code serves one server, the master Sentinel
 * names, and a cluster (whose client sends each command to its key's master). The exception
 * is a login or logout off a cluster, where a script writes or deletes the session and its
 * user's index entry together ({@link createOwned}, {@link destroyOwned}); on a cluster they
 * are two commands.
 */
export class RedisSessionBackend implements SessionBackend {
  readonly type = 'redis';
  readonly listing: SessionListing;
  readonly users: RedisUserIndex;
  /** Where one server holds every key (not a cluster): a login in one command. */
  readonly createOwned?: CreateOwned;
  /** Where one server holds every key: a logout in one command. */
  readonly destroyOwned?: DestroyOwned;
  private readonly client: RedisClient;
  private readonly store: RedisStore;
  private readonly replaceSession: ReturnType<typeof defineReplaceSession>;

  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
    private readonly timeoutMs: number,
  ) {
    const client = connection.client;
    this.client = client;
    this.store = new RedisStore({
      // Values read as Buffers, so that msgpack sessions come back byte for byte.
      client: {
        get: (key: string) => client.getBuffer(key),
        set: (key: string, value: string | Buffer, ex: 'EX', ttl: number) =>
          client.set(key, value, ex, ttl),
      },
      prefix,
      // connect-redis hands its hooks what it is given and returns what they return: a read
      // (its `get`, which `load` reads past) comes back as the session with its bytes, a
      // create carries its TTL.
      serializer: {
        parse: (raw) => this.loaded(raw as unknown as Buffer) as never,
        stringify: (outgoing) =>
          (outgoing as unknown as Outgoing).bytes as never,
      },
      ttl: (outgoing) => (outgoing as unknown as Outgoing).ttlSeconds,
    });
    this.replaceSession = defineReplaceSession(client);
    this.listing = redisListing(client, prefix, codec);
    this.users = redisUserIndex(client, prefix);
    if (connection.mode !== 'cluster') {
      const createOwnedSession = defineCreateOwnedSession(client);
      this.createOwned = async (sid, session, ttlSeconds, owner) => {
        const bytes = this.codec.encode(session);
        const count = await createOwnedSession(
          this.users.keyOf(owner.userId),
          this.prefix + sid,
          sid,
          JSON.stringify(owner.device),
          bytes,
          ttlSeconds,
        );
        await this.users.added(owner.userId, count);
        return versionOf(bytes);
      };
      const destroyOwnedSession = defineDestroyOwnedSession(client);
      this.destroyOwned = async (sid, userId) =>
        (await destroyOwnedSession(
          this.users.keyOf(userId),
          this.prefix + sid,
          sid,
        )) > 0;
    }
  }

  /**
   * Reads the key connect-redis names (`prefix + sid`) directly: the read is the call of every
   * request, and connect-redis's `get` would add two awaits and a callback shim to each.
   */
  async load(sid: string): Promise<LoadedSession | null> {
    const raw = await this.client.getBuffer(this.prefix + sid);
    return raw && this.loaded(raw);
  }

  async create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    const outgoing: Outgoing = {
      bytes: this.codec.encode(session),
      ttlSeconds,
    };
    await this.store.set(sid, outgoing as unknown as SessionData);
    return versionOf(outgoing.bytes);
  }

  async replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    const bytes = this.codec.encode(session);
    const reply: ReplaceReply = await this.replaceSession(
      this.prefix + sid,
      digestOf(version as Buffer),
      bytes,
      ttlSeconds,
    );
    if (reply === 1) return { status: 'replaced', version: versionOf(bytes) };
    // Bytes that no longer decode are no session: gone, as a load would say.
    const current = reply === 0 ? null : this.loaded(reply);
    return current ? { status: 'conflict', current } : { status: 'gone' };
  }

  async touch(sid: string, ttlSeconds: number): Promise<boolean> {
    return (await this.client.expire(this.prefix + sid, ttlSeconds)) === 1;
  }

  async destroy(sid: string): Promise<boolean> {
    return (await this.client.del(this.prefix + sid)) > 0;
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  health(): Promise<StoreHealth> {
    return redisHealth(this.client, this.connection.mode, this.timeoutMs);
  }

  /** Closes the client the store made; one the app handed in is the app's to close. */
  close(): Promise<void> {
    return closeRedis(this.connection);
  }

  private loaded(raw: Buffer): LoadedSession | null {
    const session = this.codec.decode(raw);
    // A copy: ioredis hands over a view into the socket's read buffer, which a version kept
    // for the length of a request would otherwise hold in memory whole.
    return session ? { session, version: Buffer.from(raw) } : null;
  }
}

/**
 * The version of bytes written: as a Buffer, the form a load of them gives, so that versions
 * compare as bytes. (The string itself goes to ioredis: a Buffer would make its pipeline copy
 * every command of the batch into buffers.)
 */
const versionOf = (bytes: string | Buffer): Buffer =>
  typeof bytes === 'string' ? Buffer.from(bytes) : bytes;

/** What the replace script compares a version by: `redis.sha1hex` of the stored bytes. */
const digestOf = (bytes: Buffer): string =>
  createHash('sha1').update(bytes).digest('hex');

export async function createRedisBackend(
  options: ResolvedOptionsOf<'redis'>,
  codec: SessionCodec,
): Promise<SessionBackend> {
  return new RedisSessionBackend(
    await connectRedis(options),
    options.prefix,
    codec,
    options.storeTimeoutMs,
  );
}
