import { describe, expect, it } from '@jest/globals';
import session from 'express-session';
import type { SessionData } from 'express-session';
import { createSessionCodec } from './session-codec.js';

/** A session as express-session hands it to a store: its cookie is a Cookie instance. */
function liveSession(data: Record<string, unknown>): SessionData {
  const cookie = new session.Cookie();
  cookie.maxAge = 60_000;
  return { cookie, ...data } as unknown as SessionData;
}

describe('createSessionCodec', () => {
  const json = createSessionCodec('json');
  const msgpack = createSessionCodec('msgpack');

  it('writes JSON text by default and msgpack bytes when asked', () => {
    expect(createSessionCodec().format).toBe('json');
    expect(typeof json.encode(liveSession({ a: 1 }))).toBe('string');
    const packed = msgpack.encode(liveSession({ a: 1 }));
    expect(Buffer.isBuffer(packed)).toBe(true);
    // A standard msgpack map (fixmap or map16/32), not a msgpackr record extension.
    const first = (packed as Buffer)[0];
    expect((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf).toBe(
      true,
    );
  });

  it.each([
    ['json', json],
    ['msgpack', msgpack],
  ])(
    '%s keeps the cookie expiry and unicode data through a round trip',
    (_name, codec) => {
      const original = liveSession({ username: '小明 🎉', n: [1, 2] });
      const decoded = codec.decode(codec.encode(original))!;
      expect(decoded).toMatchObject({ username: '小明 🎉', n: [1, 2] });
      const expires = (decoded.cookie as { expires?: unknown }).expires;
      expect(new Date(expires as string).getTime()).toBe(
        original.cookie.expires!.getTime(),
      );
      expect(decoded.cookie).not.toHaveProperty('_expires');
    },
  );

  it('reads either format whatever it writes, so switching formats logs nobody out', () => {
    const fromJson = json.encode(liveSession({ v: 'json' }));
    const fromMsgpack = msgpack.encode(liveSession({ v: 'msgpack' }));
    expect(msgpack.decode(fromJson)).toMatchObject({ v: 'json' });
    expect(msgpack.decode(Buffer.from(fromJson as string))).toMatchObject({
      v: 'json',
    });
    expect(json.decode(fromMsgpack)).toMatchObject({ v: 'msgpack' });
    expect(json.decode(new Uint8Array(fromMsgpack as Buffer))).toMatchObject({
      v: 'msgpack',
    });
  });

  it.each([
    ['empty', ''],
    ['empty bytes', Buffer.alloc(0)],
    ['not a session', 'hello'],
    ['truncated JSON', '{"cookie":{'],
    ['JSON without a cookie', '{"username":"x"}'],
    ['a JSON array', '[1,2]'],
    [
      'truncated msgpack',
      (msgpack.encode(liveSession({})) as Buffer).subarray(0, 5),
    ],
    ['binary noise', Buffer.from([0x00, 0xff, 0x13])],
  ])('reads %s as no session instead of throwing', (_name, raw) => {
    expect(json.decode(raw)).toBeNull();
    expect(msgpack.decode(raw)).toBeNull();
  });
});
