/**
 * Unit specs sit next to the code; e2e specs drive the real app over HTTP (test/e2e); browser
 * specs drive Swagger UI in headless Chromium (test/browser, `npm run test:browser`; `npm test`
 * selects unit and e2e only, so it needs no browser).
 * Jest 29 cannot require() ES modules, and @fastify/static (Swagger UI's file server) pulls in
 * the ESM-only content-disposition 3, so that one package is compiled to CommonJS by Babel.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  '/node_modules/content-disposition/.+\\.js$': [
    'babel-jest',
    { babelrc: false, configFile: false, plugins: ['@babel/plugin-transform-modules-commonjs'] },
  ],
};
const transformIgnorePatterns = ['/node_modules/(?!content-disposition/)'];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
  testTimeout: 30000,
};
