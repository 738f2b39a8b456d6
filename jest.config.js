/**
 * Four tiers. Unit specs sit next to the code (pure functions, milliseconds). Medium specs
 * (test/medium) run the services in a Nest testing module on SQLite in memory with a fake clock:
 * no HTTP and no sleeps, the whole tier in seconds; what depends on time is checked there, to
 * the millisecond. E2e specs drive the real app over HTTP (test/e2e), on SQLite or MariaDB.
 * Browser specs drive Swagger UI in headless Chromium (test/browser, `npm run test:browser`;
 * `npm test` selects unit, medium and e2e, so it needs no browser).
 * The npm scripts choose projects with TEST_PROJECTS (comma-separated names; unset: all) rather
 * than --selectProjects, which takes a list and so swallowed a path appended by
 * `npm test -- <path>` as one more project name, running every suite.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

const projects = [
  {
    displayName: 'unit',
    testMatch: ['<rootDir>/src/**/*.spec.ts'],
    transform,
    testEnvironment: 'node',
  },
  {
    displayName: 'medium',
    testMatch: ['<rootDir>/test/medium/**/*.medium-spec.ts'],
    transform,
    testEnvironment: 'node',
  },
  {
    displayName: 'e2e',
    testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
    // testTimeout is global in Jest 29; e2e specs get their longer one from this file.
    setupFilesAfterEnv: ['<rootDir>/test/utils/e2e-setup.ts'],
    transform,
    testEnvironment: 'node',
  },
  {
    // The multi-node specs on the 3-node Galera cluster of .ci/galera.sh (npm run test:galera,
    // DATABASE_URL naming the three nodes): its own, and the e2e specs of timers on several
    // nodes, each app on another database node (test/utils/test-app.ts).
    displayName: 'galera',
    testMatch: [
      '<rootDir>/test/galera/**/*.galera-spec.ts',
      '<rootDir>/test/e2e/timers-multinode.e2e-spec.ts',
    ],
    transform,
    testEnvironment: 'node',
  },
  {
    displayName: 'browser',
    testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
    transform,
    testEnvironment: 'node',
  },
];

const selected = (process.env.TEST_PROJECTS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name.length > 0);
const unknown = selected.filter((name) => !projects.some((p) => p.displayName === name));
if (unknown.length > 0) {
  throw new Error(
    `TEST_PROJECTS: unknown project ${unknown.join(', ')} (known: ${projects.map((p) => p.displayName).join(', ')})`,
  );
}

module.exports = {
  testSequencer: '<rootDir>/test/sequencer.js',
  projects:
    selected.length === 0 ? projects : projects.filter((p) => selected.includes(p.displayName)),
  testTimeout: 30000,
};
