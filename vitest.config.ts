import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Vite resolves `graphql` for transformed source to its ESM build (index.mjs), while Yoga and
    // Pothos, loaded by Node, get the CommonJS build: two GraphQLError classes, so Yoga would mask
    // the coded errors our resolvers throw. One copy for everyone, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: test files share the machine with PGlite instances and the PostgreSQL server.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Deliveries and NOTIFY events are asynchronous; on a loaded two-core CI machine a second
    // is not always enough for them to show.
    expect: { poll: { timeout: 5_000, interval: 20 } },
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
