import { describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { InvalidConfigError } from '../../options/invalid-config.error.js';
import { sessionOptionsFromEnv, type Env } from '../../options/session.env.js';
import {
  validateSessionOptions,
  type SessionModuleOptions,
} from '../../options/session.options.js';

const BASE = { SESSION_SECRET: 's', SESSION_TYPE: 'redis' };

/** The problem lines the environment `env` (on top of a Redis store) is refused with. */
function envProblems(env: Env): string[] {
  return problemsOf(() => sessionOptionsFromEnv({ ...BASE, ...env }));
}

/** The problem lines `forRoot` options are refused with. */
function optionProblems(options: Partial<SessionModuleOptions>): string[] {
  return problemsOf(() =>
    validateSessionOptions({
      type: 'redis',
      secret: 's',
      ...options,
    } as SessionModuleOptions),
  );
}

/** The problem lines `configure` must throw. */
function problemsOf(configure: () => unknown): string[] {
  let caught: unknown;
  try {
    configure();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidConfigError);
  return (caught as InvalidConfigError).problems;
}

const storeOptionsOf = (env: Env) =>
  sessionOptionsFromEnv({ ...BASE, ...env }).options;

describe('Redis options from the environment', () => {
  it('selects one server at the local Redis when nothing is set', () => {
    expect(storeOptionsOf({})).toMatchObject({
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('selects a cluster by REDIS_CLUSTER_NODES, with no URL', () => {
    const options = storeOptionsOf({
      REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001 ,[::1]:7002',
      REDIS_PASSWORD: 'pw',
      REDIS_USERNAME: 'sessions',
      REDIS_TLS: 'true',
    });
    expect(options).toMatchObject({
      clusterNodes: ['10.0.0.1:7000', 'redis-b:7001', '[::1]:7002'],
      password: 'pw',
      username: 'sessions',
      tls: true,
    });
    expect(options).not.toHaveProperty('url');
  });

  it('selects the master Sentinel names by REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
    const options = storeOptionsOf({
      REDIS_SENTINELS: 'sentinel-a:26379,sentinel-b:26379',
      REDIS_SENTINEL_NAME: 'sessions',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      REDIS_DB: '3',
    });
    expect(options).toMatchObject({
      sentinels: ['sentinel-a:26379', 'sentinel-b:26379'],
      sentinelName: 'sessions',
      sentinelPassword: 'sentinel-pw',
      database: 3,
    });
    expect(options).not.toHaveProperty('url');
  });

  it.each([
    [
      { REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'a:7000' },
      'REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL: one way to reach Redis',
    ],
    [
      {
        REDIS_CLUSTER_NODES: 'a:7000',
        REDIS_SENTINELS: 's:26379',
        REDIS_SENTINEL_NAME: 'm',
      },
      'REDIS_SENTINELS: cannot be combined with REDIS_CLUSTER_NODES: one way to reach Redis',
    ],
    [
      { REDIS_SENTINELS: 's:26379' },
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS: the master name they monitor',
    ],
    [
      { REDIS_SENTINEL_NAME: 'm' },
      'REDIS_SENTINEL_NAME: only with REDIS_SENTINELS, which is not set',
    ],
    [
      { REDIS_CLUSTER_NODES: 'a:7000', REDIS_DB: '2' },
      'REDIS_DB: a Redis Cluster has only database 0 (unset it with REDIS_CLUSTER_NODES)',
    ],
    [
      { REDIS_URL: 'redis://cache:6379/1', REDIS_DB: '2' },
      'REDIS_DB: REDIS_URL has a database already: give it in one place',
    ],
    [
      { REDIS_URL: 'rediss://cache:6379', REDIS_TLS: 'no' },
      'REDIS_TLS: false, but REDIS_URL is rediss: (TLS)',
    ],
    [
      { REDIS_CLUSTER_NODES: 'a:7000,b' },
      'REDIS_CLUSTER_NODES: not a "host:port": "b"',
    ],
    [
      { REDIS_DB: '-1' },
      'REDIS_DB: must be a database number, 0 or more, got "-1"',
    ],
  ])('refuses %p with one line', (env, line) => {
    expect(envProblems(env)).toEqual([line]);
  });

  it('refuses a password given twice without showing either', () => {
    const problems = envProblems({
      REDIS_URL: 'redis://app:url-S3cret@cache:6379',
      REDIS_PASSWORD: 'env-S3cret',
    });
    expect(problems).toEqual([
      'REDIS_PASSWORD: REDIS_URL has a password already: give it in one place',
    ]);
    expect(problems.join('\n')).not.toMatch(/S3cret/);
  });

  it('lists every problem at once', () => {
    expect(
      envProblems({
        REDIS_URL: 'redis://cache:6379',
        REDIS_SENTINELS: 's:26379',
        REDIS_DB: 'x',
      }),
    ).toEqual([
      expect.stringMatching(/^REDIS_DB: /),
      expect.stringMatching(
        /^REDIS_SENTINELS: cannot be combined with REDIS_URL/,
      ),
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required/),
    ]);
  });
});

describe('Redis options given to forRoot', () => {
  it('takes a client of the app’s own, Redis or Cluster, alone', () => {
    const single = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], {
      lazyConnect: true,
    });
    for (const client of [single, cluster])
      expect(
        validateSessionOptions({ type: 'redis', secret: 's', client }),
      ).toMatchObject({ client });
    single.disconnect();
    cluster.disconnect();
  });

  it('refuses a client with a place to connect or settings of its own, one line each', () => {
    const client = new Redis({ lazyConnect: true });
    expect(
      optionProblems({
        client,
        url: 'redis://cache:6379',
        password: 'pw',
        database: 1,
      }),
    ).toEqual([
      'client: cannot be combined with url: one way to reach Redis',
      'password: not with client: set it on the client',
      'database: not with client: set it on the client',
    ]);
    client.disconnect();
  });

  it('refuses a client that is no ioredis client', () => {
    expect(optionProblems({ client: { get: () => null } as never })).toEqual([
      'client: must be an ioredis Redis or Cluster client',
    ]);
  });

  it('refuses cluster nodes that are not host:port', () => {
    expect(optionProblems({ clusterNodes: [] })).toEqual([
      'clusterNodes: one or more "host:port" of the cluster',
    ]);
  });
});
