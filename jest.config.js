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
    tier('int', 'int', { testTimeout: 60000 }),
    tier('e2e', 'e2e', { testTimeout: 60000 }),
  ],
};
