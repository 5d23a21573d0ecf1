import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type Type,
} from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { SessionData } from 'express-session';
import { InvalidConfigError } from './options/invalid-config.error.js';
import {
  RESOLVED_SESSION_OPTIONS,
  SESSION_STORE,
} from './session.constants.js';
import { SessionModule } from './session.module.js';
import type {
  ResolvedSessionOptions,
  SessionModuleOptions,
} from './options/session.options.js';
import { ConsistentStore } from './stores/common/consistent-store.js';
import type { SessionStoreHandle } from './stores/index.js';

type Callback<T = unknown> = (err?: unknown, value?: T) => void;

function call<T>(start: (cb: Callback<T>) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    start((err, value) => (err ? reject(err) : resolve(value))),
  );
}

const SESSION = {
  cookie: { originalMaxAge: null, path: '/', httpOnly: true },
  user: 'ann',
} as unknown as SessionData;

/** A config provider in a module of its own, as ConfigModule would offer it. */
const APP_SETTINGS = Symbol('APP_SETTINGS');

@Module({
  providers: [
    {
      provide: APP_SETTINGS,
      useValue: { sessionSecret: 'from-settings', lifetime: 120 },
    },
  ],
  exports: [APP_SETTINGS],
})
class SettingsModule {}

/** Something elsewhere in the app that needs the store. */
@Injectable()
class StoreConsumer {
  constructor(@Inject(SESSION_STORE) readonly handle: SessionStoreHandle) {}
}

@Module({ providers: [StoreConsumer] })
class FeatureModule {}

describe('SessionModule', () => {
  const opened: TestingModule[] = [];

  async function compile(
    ...imports: (DynamicModule | Type)[]
  ): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({ imports }).compile();
    opened.push(moduleRef);
    return moduleRef;
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((moduleRef) => moduleRef.close()));
  });

  describe('forRoot', () => {
    it('provides a working memory store behind the store guard', async () => {
      const moduleRef = await compile(
        SessionModule.forRoot({ type: 'memory', secret: 's' }),
      );
      const handle = moduleRef.get<SessionStoreHandle>(SESSION_STORE);
      expect(handle.type).toBe('memory');
      expect(handle.store).toBeInstanceOf(ConsistentStore);
      await call((cb) => handle.store.set('abc', SESSION, cb));
      await expect(
        call((cb) => handle.store.get('abc', cb)),
      ).resolves.toMatchObject({ user: 'ann' });
      await expect(handle.ping()).resolves.toBeUndefined();
    });

    it('provides the options with defaults filled in', async () => {
      const moduleRef = await compile(
        SessionModule.forRoot({ type: 'memory', secret: 's', lifetime: 60 }),
      );
      expect(
        moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS),
      ).toMatchObject({
        type: 'memory',
        secret: ['s'],
        lifetime: 60,
        prefix: 'session:',
        cookie: { name: 'session' },
      });
    });

    it('provides the SQL store on an in-memory SQLite database', async () => {
      const moduleRef = await compile(
        SessionModule.forRoot({
          type: 'sql',
          secret: 's',
          url: 'sqlite::memory:',
        }),
      );
      const handle = moduleRef.get<SessionStoreHandle>(SESSION_STORE);
      expect(handle.type).toBe('sql');
      await expect(handle.ping()).resolves.toBeUndefined();
      await call((cb) => handle.store.set('abc', SESSION, cb));
      await expect(
        call((cb) => handle.store.get('abc', cb)),
      ).resolves.toMatchObject({ user: 'ann' });
    });

    it('fails to compile with invalid options, naming them', async () => {
      const build = Test.createTestingModule({
        imports: [SessionModule.forRoot({ type: 'memory', secret: '' })],
      }).compile();
      await expect(build).rejects.toBeInstanceOf(InvalidConfigError);
      await expect(build).rejects.toThrow(/^secret: /m);
    });

    it('lists every invalid option when compile fails', async () => {
      const build = Test.createTestingModule({
        imports: [
          SessionModule.forRoot({
            type: 'memory',
            secret: '',
            lifetime: -1,
            cookie: { name: 'a b' },
          }),
        ],
      }).compile();
      await expect(build).rejects.toThrow(
        /secret: [^]*lifetime: [^]*cookie\.name: /,
      );
    });

    it('fails to compile with store options the type cannot take', async () => {
      const build = Test.createTestingModule({
        imports: [
          SessionModule.forRoot({
            type: 'memcached',
            secret: 's',
          } as unknown as SessionModuleOptions),
        ],
      }).compile();
      await expect(build).rejects.toThrow(
        /servers: required, one or more "host:port"/,
      );
    });
  });

  describe('forRootAsync', () => {
    it('takes the options from a factory', async () => {
      const moduleRef = await compile(
        SessionModule.forRootAsync({
          useFactory: () => ({ type: 'memory' as const, secret: 'async' }),
        }),
      );
      expect(moduleRef.get<SessionStoreHandle>(SESSION_STORE).type).toBe(
        'memory',
      );
      expect(
        moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS).secret,
      ).toEqual(['async']);
    });

    it('takes the options from an async factory', async () => {
      const moduleRef = await compile(
        SessionModule.forRootAsync({
          useFactory: async () => ({
            type: 'sql' as const,
            secret: 's',
            url: 'sqlite::memory:',
          }),
        }),
      );
      expect(moduleRef.get<SessionStoreHandle>(SESSION_STORE).type).toBe('sql');
    });

    it('injects providers of an imported module into the factory', async () => {
      const moduleRef = await compile(
        SessionModule.forRootAsync({
          imports: [SettingsModule],
          inject: [APP_SETTINGS],
          useFactory: (settings: {
            sessionSecret: string;
            lifetime: number;
          }) => ({
            type: 'memory' as const,
            secret: settings.sessionSecret,
            lifetime: settings.lifetime,
          }),
        }),
      );
      expect(
        moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS),
      ).toMatchObject({
        secret: ['from-settings'],
        lifetime: 120,
      });
    });

    it('validates the options the factory returns', async () => {
      const build = Test.createTestingModule({
        imports: [
          SessionModule.forRootAsync({
            useFactory: () => ({ type: 'memory' as const, secret: '' }),
          }),
        ],
      }).compile();
      await expect(build).rejects.toThrow(/secret/);
    });
  });

  describe('isGlobal', () => {
    it('without it, other modules cannot inject the store', async () => {
      const build = Test.createTestingModule({
        imports: [
          SessionModule.forRoot({ type: 'memory', secret: 's' }),
          FeatureModule,
        ],
      }).compile();
      await expect(build).rejects.toThrow(/StoreConsumer/);
    });

    it('with it, any module can inject the store', async () => {
      const moduleRef = await compile(
        SessionModule.forRoot({ type: 'memory', secret: 's', isGlobal: true }),
        FeatureModule,
      );
      const consumer = moduleRef.get(StoreConsumer);
      expect(consumer.handle).toBe(moduleRef.get(SESSION_STORE));
      expect(consumer.handle.type).toBe('memory');
    });

    it('does not pass isGlobal on as a session option', async () => {
      const moduleRef = await compile(
        SessionModule.forRoot({ type: 'memory', secret: 's', isGlobal: true }),
      );
      expect(moduleRef.get(RESOLVED_SESSION_OPTIONS)).not.toHaveProperty(
        'isGlobal',
      );
    });

    it('works with forRootAsync', async () => {
      const moduleRef = await compile(
        SessionModule.forRootAsync({
          isGlobal: true,
          useFactory: () => ({ type: 'memory' as const, secret: 's' }),
        }),
        FeatureModule,
      );
      expect(moduleRef.get(StoreConsumer).handle.type).toBe('memory');
    });
  });

  describe('shutdown', () => {
    it('closes the store when the module closes', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [SessionModule.forRoot({ type: 'memory', secret: 's' })],
      }).compile();
      const handle = moduleRef.get<SessionStoreHandle>(SESSION_STORE);
      const close = jest.spyOn(handle, 'close');
      await moduleRef.close();
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('releases the SQL database when the module closes', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          SessionModule.forRoot({
            type: 'sql',
            secret: 's',
            url: 'sqlite::memory:',
          }),
        ],
      }).compile();
      const handle = moduleRef.get<SessionStoreHandle>(SESSION_STORE);
      await expect(handle.ping()).resolves.toBeUndefined();
      await moduleRef.close();
      await expect(handle.ping()).rejects.toThrow(
        /Unable to acquire a connection/,
      );
    });
  });
});
