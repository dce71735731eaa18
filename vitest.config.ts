import { defineConfig } from "vitest/config";

// Pulumi's runtime state lives on globalThis: keep vitest's defaults (forks, isolate) so each
// test file gets its own process and its own mocks.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policies/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two test files at a time, also on 2 CPUs (vitest's default there is one): the dev and prod
    // proving suites spend most of their time waiting on pgBackRest's timeouts and the S3 outage,
    // so they overlap well; one after the other they double the suite's length.
    maxWorkers: 2,
  },
});
