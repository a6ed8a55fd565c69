/** Test tiers are split by file suffix so each can run on its own (`npm run test:unit` etc.). */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
};
const tier = (name, suffix, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  testMatch: [`<rootDir>/(src|projections|test)/**/*.${suffix}.test.ts`],
  setupFiles: ['reflect-metadata'],
  ...extra,
});
module.exports = {
  projects: [
    tier('unit', 'unit'),
    tier('int', 'int'),
    tier('e2e', 'e2e'),
  ],
  // Global only (a project cannot set it): PGlite takes seconds to start on a shared 2-core machine.
  testTimeout: 120000,
};
