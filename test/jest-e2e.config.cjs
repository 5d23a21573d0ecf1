/** End-to-end tests against real stores; run in band so servers and ports are not contended. */
const {
  extensionsToTreatAsEsm,
  transform,
  moduleNameMapper,
  moduleFileExtensions,
} = require('../jest.config.cjs');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  testRegex: 'test/.*\\.e2e-spec\\.ts$',
  moduleFileExtensions,
  extensionsToTreatAsEsm,
  transform,
  moduleNameMapper,
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/conformance-summary.reporter.cjs'],
};
