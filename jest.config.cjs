/** Unit tests: *.spec.ts next to the code. ESM mode, because NestJS 12 ships ES modules only. */
module.exports = {
  rootDir: 'src',
  testEnvironment: 'node',
  testRegex: '.*\\.spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  collectCoverageFrom: ['**/*.ts', '!**/*.spec.ts', '!**/*.fixtures.ts', '!main.ts'],
  coverageDirectory: '../coverage',
};
