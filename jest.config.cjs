/**
 * Unit tests: *.spec.ts next to the code, in the demo app (src/) and in the package
 * (packages/nest-server-session/src/). ESM mode, because NestJS 12 ships ES modules only.
 * `nest-server-session` resolves to the package's sources here, so a test and the code it
 * drives share one copy of every class; the built package is what dist/main.js and the
 * consumer test load.
 */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/packages/nest-server-session/src'],
  testEnvironment: 'node',
  testRegex: '.*\\.spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  moduleNameMapper: {
    '^nest-server-session$': '<rootDir>/packages/nest-server-session/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  collectCoverageFrom: [
    'src/**/*.ts',
    'packages/nest-server-session/src/**/*.ts',
    '!**/*.spec.ts',
    '!**/*.fixtures.ts',
    '!src/main.ts',
  ],
  coverageDirectory: 'coverage',
};
