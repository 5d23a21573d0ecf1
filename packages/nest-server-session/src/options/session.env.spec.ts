import { describe, expect, it } from '@jest/globals';
import { InvalidConfigError } from './invalid-config.error.js';
import { sessionOptionsFromEnv, type Env } from './session.env.js';

/** Runs the mapper on `env`, which must fail, and returns the error it threw. */
function configError(env: Env): InvalidConfigError {
  let caught: unknown;
  try {
    sessionOptionsFromEnv(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidConfigError);
  return caught as InvalidConfigError;
}

/** The one problem line about `variable`, which must exist. */
function problemAbout(env: Env, variable: string): string {
  const lines = configError(env).problems.filter((line) =>
    line.startsWith(`${variable}: `),
  );
  expect(lines).toHaveLength(1);
  return lines[0];
}

const SECRET = { SESSION_SECRET: 'test-secret' };

describe('sessionOptionsFromEnv', () => {
  describe('defaults', () => {
    it('gives the SQL store on the SQLite file with the documented defaults', () => {
      const { options } = sessionOptionsFromEnv(SECRET);
      expect(options).toEqual({
        type: 'sql',
        url: 'sqlite:./var/sessions.sqlite',
        secret: ['test-secret'],
        prefix: 'session:',
        lifetime: 2_678_400,
        permanent: true,
        skipAnonymousReads: true,
        storeTimeoutMs: 1000,
        userIdKey: 'username',
        trackIp: false,
        absoluteLifetime: 0,
        serialization: 'json',
        cookie: { name: 'session', secure: false, sameSite: 'lax' },
      });
    });

    it('has no warnings when a secret is set', () => {
      expect(sessionOptionsFromEnv(SECRET).warnings).toEqual([]);
    });

    it('treats empty and blank variables as unset', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: '',
        SESSION_LIFETIME: '   ',
        SESSION_COOKIE_NAME: '',
        DATABASE_URL: ' ',
      });
      expect(options).toMatchObject({
        type: 'sql',
        url: 'sqlite:./var/sessions.sqlite',
        lifetime: 2_678_400,
        cookie: { name: 'session' },
      });
    });

    // Issue #9, row 9: an empty SESSION_KEY_PREFIX became "session:", and " app " became "app".
    it('takes SESSION_KEY_PREFIX as written: empty is no prefix, spaces stay, unset is the default', () => {
      const prefixOf = (prefix?: string) =>
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'memory',
          SESSION_KEY_PREFIX: prefix,
        }).options.prefix;
      expect(prefixOf('')).toBe('');
      expect(prefixOf(' app ')).toBe(' app ');
      expect(prefixOf(undefined)).toBe('session:');
      expect(
        problemAbout(
          { ...SECRET, SESSION_TYPE: 'memcached', SESSION_KEY_PREFIX: ' app ' },
          'SESSION_KEY_PREFIX',
        ),
      ).toBe(
        'SESSION_KEY_PREFIX: memcached keys cannot hold spaces or control characters',
      );
    });

    it('takes the key prefix from SESSION_KEY_PREFIX', () => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_KEY_PREFIX: 'app1:' })
          .options.prefix,
      ).toBe('app1:');
    });
  });

  describe('secret', () => {
    it('outside production, generates a random secret and warns about it', () => {
      const first = sessionOptionsFromEnv({});
      const second = sessionOptionsFromEnv({ NODE_ENV: 'development' });
      expect(first.options.secret).toHaveLength(1);
      expect(first.options.secret[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(second.options.secret[0]).not.toBe(first.options.secret[0]);
      expect(first.warnings).toEqual([
        expect.stringMatching(/SESSION_SECRET.*random secret/),
      ]);
    });

    it('is required in production, and the error names SESSION_SECRET', () => {
      const error = configError({ NODE_ENV: 'production' });
      expect(error.problems).toEqual([
        expect.stringMatching(
          /^SESSION_SECRET: required when NODE_ENV=production/,
        ),
      ]);
      expect(() =>
        sessionOptionsFromEnv({
          NODE_ENV: 'production',
          SESSION_SECRET: ' , ',
        }),
      ).toThrow(/SESSION_SECRET: /);
    });

    it('accepts SECRET_KEY as an alias, also in production', () => {
      const { options, warnings } = sessionOptionsFromEnv({
        NODE_ENV: 'production',
        SECRET_KEY: 'flask-key',
      });
      expect(options.secret).toEqual(['flask-key']);
      expect(warnings).toEqual([]);
    });

    it('prefers SESSION_SECRET over SECRET_KEY', () => {
      expect(
        sessionOptionsFromEnv({ SESSION_SECRET: 'a', SECRET_KEY: 'b' }).options
          .secret,
      ).toEqual(['a']);
    });

    it('splits a comma-separated list, trimming and dropping empty entries', () => {
      const { options } = sessionOptionsFromEnv({
        SESSION_SECRET: ' new , old,, older ',
      });
      expect(options.secret).toEqual(['new', 'old', 'older']);
    });
  });

  describe('SESSION_TYPE', () => {
    it.each(['redis', 'sql', 'memory', 'REDIS', ' Memory '])(
      'accepts %p',
      (raw) => {
        const { options } = sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: raw,
        });
        expect(options.type).toBe(raw.trim().toLowerCase());
      },
    );

    it('maps the Flask-Session name sqlalchemy to sql', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: 'sqlalchemy',
      });
      expect(options).toMatchObject({
        type: 'sql',
        url: 'sqlite:./var/sessions.sqlite',
      });
    });

    it('maps cachelib to filesystem, with SESSION_FILE_DIR', () => {
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'cachelib',
          SESSION_FILE_DIR: '/srv/sessions',
        }).options,
      ).toMatchObject({ type: 'filesystem', directory: '/srv/sessions' });
    });

    it('leaves the filesystem directory to its default when unset', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: 'filesystem',
      });
      expect(options).toMatchObject({ type: 'filesystem' });
      expect((options as { directory?: string }).directory).toBeUndefined();
    });

    it('spreads memcached over MEMCACHED_SERVERS, 127.0.0.1:11211 by default', () => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_TYPE: 'memcached' }).options,
      ).toMatchObject({ type: 'memcached', servers: ['127.0.0.1:11211'] });
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'memcached',
          MEMCACHED_SERVERS: ' 10.0.0.1:11211 , cache-2:11212,',
        }).options,
      ).toMatchObject({ servers: ['10.0.0.1:11211', 'cache-2:11212'] });
    });

    it.each(['10.0.0.1', 'host:0', 'host:99999', 'a b:1'])(
      'rejects the memcached server %p',
      (server) => {
        expect(
          problemAbout(
            { ...SECRET, SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: server },
            'MEMCACHED_SERVERS',
          ),
        ).toBe(`MEMCACHED_SERVERS: not a "host:port": "${server}"`);
      },
    );

    it('names SESSION_KEY_PREFIX when it cannot be a memcached key', () => {
      expect(
        problemAbout(
          {
            ...SECRET,
            SESSION_TYPE: 'memcached',
            SESSION_KEY_PREFIX: 'my app:',
          },
          'SESSION_KEY_PREFIX',
        ),
      ).toMatch(/spaces or control characters/);
      expect(
        problemAbout(
          {
            ...SECRET,
            SESSION_TYPE: 'memcached',
            SESSION_KEY_PREFIX: 'p'.repeat(219),
          },
          'SESSION_KEY_PREFIX',
        ),
      ).toMatch(/at most 218 bytes with memcached/);
    });

    it('reads MongoDB from MONGODB_URL and SESSION_MONGODB_COLLECTION', () => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_TYPE: 'mongodb' }).options,
      ).toMatchObject({
        type: 'mongodb',
        url: 'mongodb://127.0.0.1:27017/sessions',
      });
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'mongodb',
          MONGODB_URL: 'mongodb+srv://user:pw@cluster.example.net/app',
          SESSION_MONGODB_COLLECTION: 'web_sessions',
        }).options,
      ).toMatchObject({
        url: 'mongodb+srv://user:pw@cluster.example.net/app',
        collectionName: 'web_sessions',
      });
      expect(
        problemAbout(
          { ...SECRET, SESSION_TYPE: 'mongodb', MONGODB_URL: 'redis://x' },
          'MONGODB_URL',
        ),
      ).toBe(
        'MONGODB_URL: must be a mongodb: or mongodb+srv: URL, got "redis://x"',
      );
    });

    it("takes the SQL table and schema, and Flask-Session's table name too", () => {
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          DATABASE_URL: 'postgres://db/app',
          SESSION_SQL_TABLE: 'web_sessions',
          SESSION_SQL_SCHEMA: 'auth',
        }).options,
      ).toMatchObject({ tableName: 'web_sessions', schemaName: 'auth' });
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_SQLALCHEMY_TABLE: 'flask_sessions',
        }).options,
      ).toMatchObject({ tableName: 'flask_sessions' });
      expect(
        problemAbout(
          { ...SECRET, SESSION_SQL_TABLE: 'drop table' },
          'SESSION_SQL_TABLE',
        ),
      ).toBe(
        'SESSION_SQL_TABLE: must be a plain SQL identifier, got "drop table"',
      );
      expect(
        problemAbout(
          { ...SECRET, SESSION_SQL_SCHEMA: 'auth' },
          'SESSION_SQL_SCHEMA',
        ),
      ).toMatch(/only PostgreSQL has schemas/);
    });

    it('reads SESSION_CLEANUP_INTERVAL for the stores that sweep, and warns elsewhere', () => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_CLEANUP_INTERVAL: '600' })
          .options,
      ).toMatchObject({ cleanupInterval: 600 });
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_CLEANUP_INTERVAL: '0' })
          .options,
      ).toMatchObject({ cleanupInterval: 0 });
      expect(
        problemAbout(
          { ...SECRET, SESSION_CLEANUP_INTERVAL: '-1' },
          'SESSION_CLEANUP_INTERVAL',
        ),
      ).toMatch(/whole number of seconds/);
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'redis',
          SESSION_CLEANUP_INTERVAL: '60',
        }).warnings,
      ).toEqual([
        'SESSION_CLEANUP_INTERVAL has no effect with SESSION_TYPE=redis, which expires sessions itself',
      ]);
    });

    it('reads SESSION_SERIALIZATION_FORMAT, json by default', () => {
      expect(sessionOptionsFromEnv(SECRET).options.serialization).toBe('json');
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_SERIALIZATION_FORMAT: 'MsgPack',
        }).options.serialization,
      ).toBe('msgpack');
      expect(
        problemAbout(
          { ...SECRET, SESSION_SERIALIZATION_FORMAT: 'pickle' },
          'SESSION_SERIALIZATION_FORMAT',
        ),
      ).toBe(
        'SESSION_SERIALIZATION_FORMAT: must be json or msgpack, got "pickle"',
      );
    });

    it('rejects an unknown type, naming it', () => {
      const line = problemAbout(
        { ...SECRET, SESSION_TYPE: 'cassandra' },
        'SESSION_TYPE',
      );
      expect(line).toMatch(
        /^SESSION_TYPE: must be one of .*redis.*, got "cassandra"$/,
      );
    });

    it('does not check connection settings of a type that does not exist', () => {
      expect(() =>
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'cassandra',
          DATABASE_URL: 'garbage',
        }),
      ).toThrow(/^Invalid session configuration:\nSESSION_TYPE: [^\n]+$/);
    });
  });

  describe('SESSION_LIFETIME and SESSION_STORE_TIMEOUT_MS', () => {
    it('reads positive integers', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_LIFETIME: '3600',
        SESSION_STORE_TIMEOUT_MS: ' 250 ',
      });
      expect(options.lifetime).toBe(3600);
      expect(options.storeTimeoutMs).toBe(250);
    });

    it.each(['abc', '-5', '0', '1.5', '1e3', '99999999999999999999'])(
      'rejects SESSION_LIFETIME=%p',
      (raw) => {
        expect(
          problemAbout(
            { ...SECRET, SESSION_LIFETIME: raw },
            'SESSION_LIFETIME',
          ),
        ).toBe(`SESSION_LIFETIME: must be a positive integer, got "${raw}"`);
      },
    );

    it.each(['fast', '0', '-1', '2.5'])(
      'rejects SESSION_STORE_TIMEOUT_MS=%p',
      (raw) => {
        expect(() =>
          sessionOptionsFromEnv({ ...SECRET, SESSION_STORE_TIMEOUT_MS: raw }),
        ).toThrow(/SESSION_STORE_TIMEOUT_MS: must be a positive integer/);
      },
    );
  });

  describe('store URLs', () => {
    it('uses the local Redis by default for SESSION_TYPE=redis', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: 'redis',
      });
      expect(options).toMatchObject({
        type: 'redis',
        url: 'redis://127.0.0.1:6379',
      });
    });

    it.each([
      'redis://cache:6380/2',
      'rediss://user:pw@cache.example.com:6380',
    ])('accepts REDIS_URL=%p', (url) => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: 'redis',
        REDIS_URL: url,
      });
      expect(options).toMatchObject({ type: 'redis', url });
    });

    it.each(['not a url', 'http://x', 'redis://', 'sqlite:./x.sqlite'])(
      'rejects REDIS_URL=%p',
      (url) => {
        expect(
          problemAbout(
            { ...SECRET, SESSION_TYPE: 'redis', REDIS_URL: url },
            'REDIS_URL',
          ),
        ).toBe(`REDIS_URL: must be a redis: or rediss: URL, got "${url}"`);
      },
    );

    it('ignores REDIS_URL for another store type', () => {
      expect(() =>
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_TYPE: 'memory',
          REDIS_URL: 'nope',
        }),
      ).not.toThrow();
    });

    it.each([
      'sqlite::memory:',
      'sqlite:///tmp/s.sqlite',
      'postgres://user:pw@db:5432/app',
      'postgresql://db/app',
      'mysql://root@127.0.0.1:3306/test',
      'mariadb://db/app',
    ])('accepts DATABASE_URL=%p', (url) => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, DATABASE_URL: url }).options,
      ).toMatchObject({ type: 'sql', url });
    });

    it.each([
      'postgres//db/sessions',
      'postgres:///nohost',
      'mongodb://db/sessions',
      './var/sessions.sqlite',
      'garbage',
      'sqlite:',
      'sqlite://',
    ])('rejects DATABASE_URL=%p', (url) => {
      expect(
        problemAbout({ ...SECRET, DATABASE_URL: url }, 'DATABASE_URL'),
      ).toBe(
        `DATABASE_URL: must be a sqlite:, postgres:, postgresql:, mysql: or mariadb: URL, got "${url}"`,
      );
    });

    it('memory options carry no URL', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_TYPE: 'memory',
      });
      expect(options).not.toHaveProperty('url');
    });
  });

  describe('SESSION_PERMANENT', () => {
    it.each([
      ['false', false],
      ['0', false],
      ['No', false],
      ['off', false],
      ['TRUE', true],
      ['1', true],
      ['yes', true],
    ])('reads %p as %p', (raw, expected) => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_PERMANENT: raw }).options
          .permanent,
      ).toBe(expected);
    });

    it('rejects a value that is not a boolean', () => {
      expect(
        problemAbout(
          { ...SECRET, SESSION_PERMANENT: 'maybe' },
          'SESSION_PERMANENT',
        ),
      ).toBe('SESSION_PERMANENT: must be true or false, got "maybe"');
    });
  });

  describe('cookie', () => {
    it('is Secure by default in production', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        NODE_ENV: 'production',
      });
      expect(options.cookie?.secure).toBe(true);
    });

    it('lets SESSION_COOKIE_SECURE turn Secure off in production and on elsewhere', () => {
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          NODE_ENV: 'production',
          SESSION_COOKIE_SECURE: 'false',
        }).options.cookie?.secure,
      ).toBe(false);
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_COOKIE_SECURE: 'true' })
          .options.cookie?.secure,
      ).toBe(true);
    });

    it('rejects a SESSION_COOKIE_SECURE that is not a boolean', () => {
      expect(() =>
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_COOKIE_SECURE: 'sometimes',
        }),
      ).toThrow(/SESSION_COOKIE_SECURE: must be true or false/);
    });

    it('reads SameSite case-insensitively', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_COOKIE_SAMESITE: 'Strict',
      });
      expect(options.cookie?.sameSite).toBe('strict');
    });

    it('accepts SameSite None with a Secure cookie', () => {
      const { options } = sessionOptionsFromEnv({
        ...SECRET,
        SESSION_COOKIE_SAMESITE: 'None',
        SESSION_COOKIE_SECURE: 'true',
      });
      expect(options.cookie).toMatchObject({ sameSite: 'none', secure: true });
    });

    it('rejects SameSite None without Secure', () => {
      expect(
        problemAbout(
          { ...SECRET, SESSION_COOKIE_SAMESITE: 'None' },
          'SESSION_COOKIE_SAMESITE',
        ),
      ).toBe(
        'SESSION_COOKIE_SAMESITE: None requires SESSION_COOKIE_SECURE=true',
      );
    });

    it('rejects an unknown SameSite value', () => {
      expect(
        problemAbout(
          { ...SECRET, SESSION_COOKIE_SAMESITE: 'sometimes' },
          'SESSION_COOKIE_SAMESITE',
        ),
      ).toMatch(/must be Lax, Strict or None, got "sometimes"/);
    });

    it('takes the cookie name from SESSION_COOKIE_NAME', () => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_COOKIE_NAME: 'sid' }).options
          .cookie?.name,
      ).toBe('sid');
    });

    it.each(['my session', 'a;b', 'a=b', 'naïve', '"q"'])(
      'rejects the cookie name %p',
      (name) => {
        expect(
          problemAbout(
            { ...SECRET, SESSION_COOKIE_NAME: name },
            'SESSION_COOKIE_NAME',
          ),
        ).toBe(`SESSION_COOKIE_NAME: not a valid cookie name: "${name}"`);
      },
    );
  });

  describe('several problems', () => {
    const env: Env = {
      NODE_ENV: 'production',
      SESSION_TYPE: 'redis',
      REDIS_URL: 'http://x',
      SESSION_LIFETIME: 'abc',
      SESSION_PERMANENT: 'maybe',
      SESSION_COOKIE_NAME: 'a b',
    };

    it('reports them together, one line per variable, under one heading', () => {
      const error = configError(env);
      expect(
        error.problems.map((line) => line.split(':')[0]).toSorted(),
      ).toEqual([
        'REDIS_URL',
        'SESSION_COOKIE_NAME',
        'SESSION_LIFETIME',
        'SESSION_PERMANENT',
        'SESSION_SECRET',
      ]);
      expect(error.message).toBe(
        `Invalid session configuration:\n${error.problems.join('\n')}`,
      );
      expect(error.name).toBe('InvalidConfigError');
    });

    it('names every variable in the message', () => {
      const call = () => sessionOptionsFromEnv(env);
      expect(call).toThrow(/^Invalid session configuration:\n/);
      expect(call).toThrow(/^SESSION_SECRET: /m);
      expect(call).toThrow(/^SESSION_LIFETIME: /m);
      expect(call).toThrow(/^SESSION_PERMANENT: /m);
      expect(call).toThrow(/^SESSION_COOKIE_NAME: /m);
      expect(call).toThrow(/^REDIS_URL: /m);
    });
  });

  describe('SESSION_TOUCH_AFTER', () => {
    it('is left to the module default when unset', () => {
      expect(sessionOptionsFromEnv(SECRET).options.touchAfter).toBeUndefined();
    });

    it.each([
      ['0', 0],
      ['300', 300],
    ])('reads %p as %p seconds', (raw, expected) => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_TOUCH_AFTER: raw }).options
          .touchAfter,
      ).toBe(expected);
    });

    it.each(['-1', 'soon', '1.5', '600'])(
      'rejects %p (SESSION_LIFETIME 600)',
      (raw) => {
        expect(
          problemAbout(
            { ...SECRET, SESSION_LIFETIME: '600', SESSION_TOUCH_AFTER: raw },
            'SESSION_TOUCH_AFTER',
          ),
        ).toMatch(/less than SESSION_LIFETIME \(600\)/);
      },
    );
  });

  describe('SESSION_SKIP_ANONYMOUS_READS', () => {
    it.each([
      ['false', false],
      ['0', false],
      ['true', true],
    ])('reads %p as %p', (raw, expected) => {
      expect(
        sessionOptionsFromEnv({ ...SECRET, SESSION_SKIP_ANONYMOUS_READS: raw })
          .options.skipAnonymousReads,
      ).toBe(expected);
    });

    it('rejects a value that is not a boolean, naming the variable', () => {
      expect(
        problemAbout(
          { ...SECRET, SESSION_SKIP_ANONYMOUS_READS: 'maybe' },
          'SESSION_SKIP_ANONYMOUS_READS',
        ),
      ).toMatch(/must be true or false/);
    });
  });

  // Issue #9, row 3: a "#" in the password made the start-up error print the password.
  describe('credentials in URLs', () => {
    it.each([
      ['DATABASE_URL', 'sql', 'postgres://app:S3cr#tPa55@db.internal:5432/app'],
      ['DATABASE_URL', 'sql', 'postgres://app:123#S3cr#tPa55@db/app'],
      ['DATABASE_URL', 'sql', 'postgres//app:S3cr#tPa55@db/app'],
      ['REDIS_URL', 'redis', 'redis://default:S3cr#tPa55@cache:6379'],
      ['REDIS_URL', 'redis', 'http://:S3cr#tPa55@cache:6379'],
      ['MONGODB_URL', 'mongodb', 'mongodb+srv://app:S3cr@tPa55@cluster#x/db'],
      ['DATABASE_URL', 'sql', 'mysql://db/app?user=app&password=S3cr#tPa55'],
      ['MEMCACHED_SERVERS', 'memcached', 'app:S3cr#tPa55@cache'],
    ])(
      '%s of the %s store: %p is refused without its password',
      (variable, type, value) => {
        const line = problemAbout(
          { ...SECRET, SESSION_TYPE: type, [variable]: value },
          variable,
        );
        expect(line).not.toMatch(/S3cr|tPa55/);
        expect(line).toMatch(/\*\*\*/);
      },
    );

    it('says that a "#" in a URL must be percent-encoded', () => {
      expect(
        problemAbout(
          { ...SECRET, DATABASE_URL: 'postgres://app:123#x@db/app' },
          'DATABASE_URL',
        ),
      ).toBe(
        'DATABASE_URL: must be a sqlite:, postgres:, postgresql:, mysql: or mariadb: URL with any "#" percent-encoded as %23, got "postgres://app:***@db/app"',
      );
    });

    it('keeps the user name, and accepts a percent-encoded "#"', () => {
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          DATABASE_URL: 'postgres://app:S3cr%23tPa55@db/app',
        }).options,
      ).toMatchObject({ url: 'postgres://app:S3cr%23tPa55@db/app' });
      expect(
        problemAbout(
          { ...SECRET, SESSION_TYPE: 'redis', REDIS_URL: 'http://app@cache' },
          'REDIS_URL',
        ),
      ).toBe(
        'REDIS_URL: must be a redis: or rediss: URL, got "http://app@cache"',
      );
    });
  });

  // Issue #9, row 4: Node timers past 2^31 - 1 ms fire after 1 ms.
  describe('settings that end up in timers', () => {
    it.each([
      [
        'SESSION_CLEANUP_INTERVAL',
        '2592000',
        'SESSION_CLEANUP_INTERVAL: at most 2147483 seconds (24.8 days, the longest Node timer; for rarer sweeps set 0 and run npm run sessions:cleanup from cron), got 2592000',
      ],
      [
        'SESSION_STORE_TIMEOUT_MS',
        '2147483648',
        'SESSION_STORE_TIMEOUT_MS: at most 3600000 ms (an hour), got 2147483648',
      ],
      [
        'SESSION_LIFETIME',
        '34560001',
        'SESSION_LIFETIME: at most 34560000 seconds (400 days, the longest browsers keep a cookie), got 34560001',
      ],
    ])('refuses %s=%s, naming the limit', (variable, value, line) => {
      expect(problemAbout({ ...SECRET, [variable]: value }, variable)).toBe(
        line,
      );
    });

    it('accepts each limit itself', () => {
      expect(
        sessionOptionsFromEnv({
          ...SECRET,
          SESSION_CLEANUP_INTERVAL: '2147483',
          SESSION_STORE_TIMEOUT_MS: '3600000',
          SESSION_LIFETIME: '34560000',
        }).options,
      ).toMatchObject({
        cleanupInterval: 2_147_483,
        storeTimeoutMs: 3_600_000,
        lifetime: 34_560_000,
      });
    });
  });

  // Issue #9, row 8: a 230-character prefix started on PostgreSQL, then every login failed.
  describe('SESSION_KEY_PREFIX on SQL', () => {
    const sql = { ...SECRET, DATABASE_URL: 'postgres://db/app' };

    it('refuses a prefix that leaves no room for the id in the 255-character sid column', () => {
      expect(
        problemAbout(
          { ...sql, SESSION_KEY_PREFIX: 'p'.repeat(230) },
          'SESSION_KEY_PREFIX',
        ),
      ).toBe(
        'SESSION_KEY_PREFIX: at most 223 characters with SQL (the sid column holds 255), got 230',
      );
    });

    it('counts characters, as the column does, not bytes', () => {
      expect(
        sessionOptionsFromEnv({ ...sql, SESSION_KEY_PREFIX: 'é'.repeat(223) })
          .options.prefix,
      ).toHaveLength(223);
      expect(
        problemAbout(
          { ...sql, SESSION_KEY_PREFIX: '会'.repeat(224) },
          'SESSION_KEY_PREFIX',
        ),
      ).toMatch(/got 224$/);
    });
  });
});
