/** Integration tests run against real Temporal, NATS and FerretDB started by test/global-setup.ts. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  },
  // jose ships only ES modules; Jest's CommonJS runtime needs them transformed like our code.
  // ESM-only packages get compiled to CommonJS like the project's own code.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@seriousme/openapi-schema-validator)/)'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Real servers on 2 cores: each test file gets its own worker and time to talk to them.
  testTimeout: 60_000,
  maxWorkers: 2,
};
