import { defineConfig } from "vitest/config";

// Pulumi's runtime state lives on globalThis: keep vitest's defaults (forks, isolate) so each
// test file gets its own process and its own mocks.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policies/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
