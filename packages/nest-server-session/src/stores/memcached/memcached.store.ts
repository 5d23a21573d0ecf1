import type { SessionData } from 'express-session';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionVersion,
} from '../store.contract.js';
import {
  checkMemcachedKey,
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';
import { MemcachedUserIndex } from './memcached-user-index.js';
import {
  casOfReply,
  Opcode,
  setExtras,
  Status,
  touchExtras,
  unexpectedStatus,
  type BinaryReply,
  type BinaryRequest,
} from './memjs-binary.js';
import { connectMemjs, type MemjsConnection } from './memjs-client.js';

/** What the store reads of its options. */
type BackendOptions = Pick<
  ResolvedOptionsOf<'memcached'>,
  'prefix' | 'userIdKey' | 'touchAfter' | 'storeTimeoutMs'
>;

export {
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';

/**
 * Sessions in memcached under `prefix + sid`, encoded by the codec, expiring with the session.
 * A version is the item's CAS value (hex), which memcached changes on every write and keeps
 * on a touch; `replace` is a SET carrying it, which memcached applies only if the item still
 * has it. Memcached cannot list keys, so there is no listing; each user's sessions are
 * listed by an index item of their own ({@link MemcachedUserIndex}), whose entry a session's
 * write or refresh keeps up to date.
 */
export class MemcachedSessionBackend implements SessionBackend {
  readonly type = 'memcached';
  readonly users: MemcachedUserIndex;
  private readonly prefix: string;

  constructor(
    private readonly memjs: MemjsConnection,
    private readonly codec: SessionCodec,
    options: BackendOptions,
  ) {
    this.prefix = options.prefix;
    this.users = new MemcachedUserIndex(
      memjs,
      async (sid) => (await this.load(sid))?.session ?? null,
      {
        prefix: options.prefix,
        userIdPath: options.userIdKey.split('.'),
        slackMs: options.touchAfter * 1000,
        timeoutMs: options.storeTimeoutMs,
      },
    );
  }

  async load(sid: string): Promise<LoadedSession | null> {
    const reply = await this.send(sid, { opcode: Opcode.get });
    if (reply.status === Status.notFound) return null;
    if (reply.status !== Status.ok) throw unexpectedStatus('get', reply.status);
    const session = this.codec.decode(reply.value);
    return session && { session, version: versionOf(reply) };
  }

  async create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    // The module has added it to its user's index already, if it has one.
    const reply = await this.write(sid, this.encode(session), ttlSeconds);
    if (reply.status !== Status.ok) throw unexpectedStatus('set', reply.status);
    return versionOf(reply);
  }

  async replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    const cas = casOf(version);
    const value = this.encode(session);
    // The index entry first, so that the session never outlives what it says (it is
    // extended needlessly when the write then finds a conflict).
    await this.users.refresh(sid, session, ttlSeconds);
    const reply = await this.write(sid, value, ttlSeconds, cas);
    switch (reply.status) {
      case Status.ok:
        return { status: 'replaced', version: versionOf(reply) };
      case Status.notFound:
        return { status: 'gone' };
      case Status.exists:
        return { status: 'conflict' };
      default:
        throw unexpectedStatus('cas', reply.status);
    }
  }

  /**
   * A get-and-touch rather than a TOUCH: the session names the user whose index entry follows.
   * (The session's expiry moves first here: should the entry's refresh fail, the call fails,
   * and the module refreshes again on the next request.)
   */
  async touch(sid: string, ttlSeconds: number): Promise<boolean> {
    const extras = touchExtras(memcachedExpiry(ttlSeconds));
    const reply = await this.send(sid, { opcode: Opcode.gat, extras });
    if (!this.found('touch', reply)) return false;
    const session = this.codec.decode(reply.value);
    if (session) await this.users.refresh(sid, session, ttlSeconds);
    return true;
  }

  async destroy(sid: string): Promise<boolean> {
    const reply = await this.send(sid, { opcode: Opcode.delete });
    return this.found('delete', reply);
  }

  ping(): Promise<void> {
    return this.memjs.ping();
  }

  close(): Promise<void> {
    return this.memjs.close();
  }

  /** The session as stored; one too large is refused here, so the version before stays. */
  private encode(session: SessionData): string | Buffer {
    const value = this.codec.encode(session);
    const bytes = Buffer.byteLength(value);
    if (bytes > MEMCACHED_MAX_VALUE_BYTES)
      throw new SessionTooLargeError(
        'memcached',
        bytes,
        MEMCACHED_MAX_VALUE_BYTES,
      );
    return value;
  }

  /** A SET: unconditional, or with `cas` only onto that version. */
  private write(
    sid: string,
    value: string | Buffer,
    ttlSeconds: number,
    cas?: Buffer,
  ): Promise<BinaryReply> {
    const extras = setExtras(memcachedExpiry(ttlSeconds));
    return this.send(sid, { opcode: Opcode.set, extras, value, cas });
  }

  private send(sid: string, request: BinaryRequest): Promise<BinaryReply> {
    const key = this.prefix + sid;
    checkMemcachedKey(key);
    return this.memjs.send(key, request);
  }

  private found(operation: string, reply: BinaryReply): boolean {
    if (reply.status === Status.ok) return true;
    if (reply.status === Status.notFound) return false;
    throw unexpectedStatus(operation, reply.status);
  }
}

/** The version of what a reply read or wrote: its CAS value, in hex. */
function versionOf(reply: BinaryReply): string {
  return casOfReply(reply).toString('hex');
}

/** The CAS a version stands for; never 0, which would make the SET unconditional. */
function casOf(version: SessionVersion): Buffer {
  if (typeof version !== 'string' || !/^(?!0{16})[0-9a-f]{16}$/.test(version))
    throw new Error('memcached replace: not a version this store gave');
  return Buffer.from(version, 'hex');
}

/**
 * The memcached store over `options.servers`. Memcached need not be up: startup spends at most
 * one failed ping on it, calls fail within `storeTimeoutMs` (503s) while it is away, and work
 * again once it is back.
 */
export async function createMemcachedBackend(
  options: ResolvedOptionsOf<'memcached'>,
  codec: SessionCodec,
): Promise<SessionBackend> {
  const memjs = connectMemjs(options.servers, options.storeTimeoutMs);
  // Opens the connections so that the first requests need not; a failure is logged, not thrown.
  await memjs.ping().catch(() => undefined);
  return new MemcachedSessionBackend(memjs, codec, options);
}
