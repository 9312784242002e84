import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 20000,
  // Two workers on CI's two cores: the longest suites (the packed-package and bench smoke runs)
  // mostly wait on child processes, and Jest's default on two cores is one worker.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/spec/helpers/summary-reporter.cjs'],
};

export default config;
