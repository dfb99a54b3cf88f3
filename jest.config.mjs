// ESM throughout: several dependencies (jose, oidc-provider) ship only ES modules.
// swc strips types (fast); `npm run typecheck` checks them once, separately.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    }],
  },
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/pglite-template.global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/pglite-template.global-teardown.mjs',
  setupFilesAfterEnv: ['<rootDir>/test/support/pglite-template.setup.ts'],
  maxWorkers: 2,
};
