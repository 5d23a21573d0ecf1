import { describe, expect, it } from '@jest/globals';
import { appConfigFromEnv } from './app.config.js';
import { InvalidConfigError } from 'nest-server-session';

const SECRET = { SESSION_SECRET: 'test-secret' };

describe('appConfigFromEnv', () => {
  it('ends sessions a week after login by default, as the library does not', () => {
    expect(appConfigFromEnv({}).session.absoluteLifetime).toBe(604_800);
    expect(
      appConfigFromEnv({ SESSION_ABSOLUTE_LIFETIME: '0' }).session
        .absoluteLifetime,
    ).toBe(0);
  });

  describe('PORT', () => {
    it('defaults to 3000, also when blank', () => {
      expect(appConfigFromEnv(SECRET).port).toBe(3000);
      expect(appConfigFromEnv({ ...SECRET, PORT: '  ' }).port).toBe(3000);
    });

    it.each([
      ['8080', 8080],
      ['0', 0],
      ['65535', 65535],
    ])('reads %p', (raw, port) => {
      expect(appConfigFromEnv({ ...SECRET, PORT: raw }).port).toBe(port);
    });

    it.each(['abc', '-1', '65536', '80.5', '0x50'])(
      'rejects PORT=%p',
      (raw) => {
        expect(() => appConfigFromEnv({ ...SECRET, PORT: raw })).toThrow(
          new RegExp(
            `^PORT: must be an integer from 0 to 65535, got "${raw.replace('.', '\\.')}"$`,
            'm',
          ),
        );
      },
    );
  });

  describe('TRUST_PROXY', () => {
    it.each([
      [undefined, false],
      ['', false],
      ['false', false],
      ['true', true],
      ['2', 2],
      ['0', 0],
      ['loopback', 'loopback'],
      ['TRUE', true],
      ['False', false],
      ['10.0.0.0/8, 127.0.0.1', '10.0.0.0/8,127.0.0.1'],
      ['::1, fd00::/8, uniquelocal', '::1,fd00::/8,uniquelocal'],
    ])('reads %p as %p', (raw, expected) => {
      expect(appConfigFromEnv({ ...SECRET, TRUST_PROXY: raw }).trustProxy).toBe(
        expected,
      );
    });

    it.each([
      'yes',
      '10.0.0.0/33',
      '1.2.3',
      'loopback, example.com',
      '10.0.0.1/8/2',
    ])('rejects %p, naming TRUST_PROXY', (raw) => {
      expect(() => appConfigFromEnv({ ...SECRET, TRUST_PROXY: raw })).toThrow(
        /^TRUST_PROXY: /m,
      );
    });
  });

  describe('the rest', () => {
    it('flags production from NODE_ENV', () => {
      expect(appConfigFromEnv(SECRET).production).toBe(false);
      expect(
        appConfigFromEnv({ ...SECRET, NODE_ENV: 'production' }).production,
      ).toBe(true);
    });

    it('passes the session options through, excluding the health route', () => {
      const config = appConfigFromEnv({
        ...SECRET,
        SESSION_TYPE: 'memory',
        SESSION_LIFETIME: '60',
      });
      expect(config.session).toMatchObject({
        type: 'memory',
        lifetime: 60,
        secret: ['test-secret'],
      });
      expect(config.session.excludeRoutes).toContain('health');
    });

    it('passes the session warnings through', () => {
      expect(appConfigFromEnv({}).warnings).toEqual([
        expect.stringMatching(/SESSION_SECRET/),
      ]);
      expect(appConfigFromEnv(SECRET).warnings).toEqual([]);
    });

    it('warns when session cookies are Secure but TRUST_PROXY is unset', () => {
      const production = { ...SECRET, NODE_ENV: 'production' };
      expect(appConfigFromEnv(production).warnings).toEqual([
        expect.stringMatching(/Secure.*TRUST_PROXY/),
      ]);
      expect(
        appConfigFromEnv({ ...SECRET, SESSION_COOKIE_SECURE: 'true' }).warnings,
      ).toEqual([expect.stringMatching(/TRUST_PROXY/)]);
    });

    it('warns about TRUST_PROXY=0, which trusts no proxy', () => {
      expect(
        appConfigFromEnv({
          ...SECRET,
          NODE_ENV: 'production',
          TRUST_PROXY: '0',
        }).warnings,
      ).toEqual([expect.stringMatching(/TRUST_PROXY/)]);
    });

    it('does not warn about TRUST_PROXY when it is set or cookies are not Secure', () => {
      expect(
        appConfigFromEnv({
          ...SECRET,
          NODE_ENV: 'production',
          TRUST_PROXY: '1',
        }).warnings,
      ).toEqual([]);
      expect(
        appConfigFromEnv({
          ...SECRET,
          NODE_ENV: 'production',
          TRUST_PROXY: 'loopback',
        }).warnings,
      ).toEqual([]);
      expect(
        appConfigFromEnv({
          ...SECRET,
          NODE_ENV: 'production',
          SESSION_COOKIE_SECURE: 'false',
        }).warnings,
      ).toEqual([]);
    });
  });

  describe('problems', () => {
    it('reports PORT and SESSION_* problems together in one error', () => {
      let error: unknown;
      try {
        appConfigFromEnv({
          NODE_ENV: 'production',
          PORT: 'eighty',
          SESSION_LIFETIME: '-5',
        });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      const { problems, message } = error as InvalidConfigError;
      expect(problems).toEqual([
        'PORT: must be an integer from 0 to 65535, got "eighty"',
        expect.stringMatching(/^SESSION_SECRET: /),
        'SESSION_LIFETIME: must be a positive integer, got "-5"',
      ]);
      expect(message).toBe(`Invalid configuration:\n${problems.join('\n')}`);
    });

    it('reports session problems alone when PORT is fine', () => {
      expect(() =>
        appConfigFromEnv({
          ...SECRET,
          SESSION_TYPE: 'mongodb',
          MONGODB_URL: 'x',
        }),
      ).toThrow(/^Invalid configuration:\nMONGODB_URL: must be a mongodb: /);
    });
  });
});
