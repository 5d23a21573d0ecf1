import { Utils, type Client, type Response } from 'memjs';

/**
 * memcached's binary protocol, spoken through memjs's low-level `perform`: memjs 1.3.2 sends
 * no CAS value and reports none ("TODO: support version (CAS)"), though every reply header
 * carries the item's CAS and a SET that carries one is a compare-and-set on the server.
 */

/** The opcodes the session store sends. */
export const Opcode = {
  get: 0x00,
  set: 0x01,
  /** SET only if there is no such item. */
  add: 0x02,
  delete: 0x04,
  touch: 0x1c,
  /** Get-and-touch: reads the value and moves the expiry in one step, CAS unchanged. */
  gat: 0x1d,
} as const;

/** Reply statuses the session store tells apart. */
export const Status = {
  ok: 0x00,
  /** GET, TOUCH, DELETE, CAS SET: no such (live) item. */
  notFound: 0x01,
  /** CAS SET or DELETE: the item was written since that CAS was read; ADD: it exists. */
  exists: 0x02,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0x03: 'value too large',
  0x04: 'invalid arguments',
  0x05: 'item not stored',
  0x81: 'unknown command',
  0x82: 'out of memory',
  0x86: 'temporarily failing',
};

/** The CAS value of "no CAS": a SET with it writes unconditionally. */
const NO_CAS = Buffer.alloc(8);

export interface BinaryRequest {
  opcode: number;
  extras?: Buffer;
  value?: string | Buffer;
  /** 8 bytes; on SET and DELETE, the item is changed only if it still has this CAS. */
  cas?: Buffer;
}

export interface BinaryReply {
  status: number;
  /** The item's CAS after the request (read or written). */
  cas: Buffer;
  /** The value read. Both are views into memjs's receive buffer: copy what you keep. */
  value: Buffer;
}

/** Extras of a SET: no flags, then the expiry. */
export function setExtras(expiry: number): Buffer {
  return Buffer.concat([NO_CAS.subarray(0, 4), Utils.makeExpiration(expiry)]);
}

/** Extras of a TOUCH: the expiry. */
export const touchExtras = (expiry: number): Buffer =>
  Utils.makeExpiration(expiry);

/**
 * Sends `request` for `key` to the key's server, one attempt (as the client is configured).
 * Calls back with the reply, whatever its status, or with the error that ended the
 * connection.
 */
export function perform(
  client: Client,
  key: string,
  request: BinaryRequest,
  done: (err: Error | null, reply?: BinaryReply) => void,
): void {
  client.incrSeq();
  const seq = client.seq;
  const buffer = Utils.makeRequestBuffer(
    request.opcode,
    key,
    request.extras ?? '',
    request.value ?? '',
    seq,
  );
  (request.cas ?? NO_CAS).copy(buffer, 16);
  client.perform(key, buffer, seq, (err, response?: Response) => {
    if (err || !response) return done(err ?? new Error('no reply'));
    const { status, cas } = response.header;
    done(null, { status, cas, value: response.val });
  });
}

/**
 * The CAS value of what a reply read or wrote, copied out of memjs's buffer. memcached started
 * with `-C` keeps none (all zero) and then ignores the CAS of a SET: writes would overwrite any
 * version and re-create destroyed sessions, so the store refuses to work with it rather than
 * lose writes silently.
 */
export function casOfReply(reply: BinaryReply): Buffer {
  if (reply.cas.every((byte) => byte === 0))
    throw new Error(
      'memcached runs without CAS values (-C); the session store needs them',
    );
  return Buffer.from(reply.cas);
}

/** An error for a status the caller did not expect; it names no key or value. */
export function unexpectedStatus(operation: string, status: number): Error {
  const name = STATUS_NAMES[status] ?? 'unexpected status';
  return new Error(
    `memcached ${operation}: ${name} (0x${status.toString(16).padStart(2, '0')})`,
  );
}
