import { createHash } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { Redis } from 'ioredis';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionListing,
  SessionVersion,
} from '../store.contract.js';
import { connectRedis } from './redis.client.js';
import { redisListing } from './redis-listing.js';
import { defineReplaceSession, type ReplaceReply } from './replace.script.js';

/** A session encoded for Redis, as it passes through connect-redis's serializer and TTL hooks. */
interface Outgoing {
  bytes: string | Buffer;
  ttlSeconds: number;
}

/**
 * Sessions in Redis, one string key `prefix + sid` each, with the SHA-1 of the stored bytes as
 * the version. connect-redis reads and creates them (its key naming, serializer and TTL);
 * `replace` is a Lua compare-and-set on the one key, and touch and destroy report what they
 * found. One command per call.
 */
export class RedisSessionBackend implements SessionBackend {
  readonly type = 'redis';
  readonly listing: SessionListing;
  private readonly store: RedisStore;
  private readonly replaceSession: ReturnType<typeof defineReplaceSession>;

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
  ) {
    this.store = new RedisStore({
      // Values read as Buffers, so that msgpack sessions come back byte for byte.
      client: {
        get: (key: string) => client.getBuffer(key),
        set: (key: string, value: string | Buffer, ex: 'EX', ttl: number) =>
          client.set(key, value, ex, ttl),
      },
      prefix,
      // connect-redis hands its hooks what it is given and returns what they return: a read
      // comes back as the session with the digest of its bytes, a create carries its TTL.
      serializer: {
        parse: (raw) => this.loaded(raw as unknown as Buffer) as never,
        stringify: (outgoing) =>
          (outgoing as unknown as Outgoing).bytes as never,
      },
      ttl: (outgoing) => (outgoing as unknown as Outgoing).ttlSeconds,
    });
    this.replaceSession = defineReplaceSession(client);
    this.listing = redisListing(client, prefix, codec);
  }

  async load(sid: string): Promise<LoadedSession | null> {
    return (await this.store.get(sid)) as LoadedSession | null;
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
      String(version),
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

  async close(): Promise<void> {
    // QUIT lets Redis answer what it was sent first. Ending a connection that is already
    // closed would leave ioredis's 2 s disconnect timer behind, holding the process up.
    if (this.client.status === 'ready')
      await this.client.quit().catch(() => undefined);
    if (this.client.status !== 'end') this.client.disconnect();
  }

  private loaded(raw: Buffer): LoadedSession | null {
    const session = this.codec.decode(raw);
    return session ? { session, version: versionOf(raw) } : null;
  }
}

/** The version of stored bytes: what the replace script computes with `redis.sha1hex`. */
const versionOf = (bytes: string | Buffer): string =>
  createHash('sha1').update(bytes).digest('hex');

export async function createRedisBackend(
  options: ResolvedOptionsOf<'redis'>,
  codec: SessionCodec,
): Promise<SessionBackend> {
  const client = await connectRedis(options.url, options.storeTimeoutMs);
  return new RedisSessionBackend(client, options.prefix, codec);
}
