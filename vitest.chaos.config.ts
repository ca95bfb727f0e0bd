import { defineConfig } from "vitest/config";

// The chaos suite (npm run test:chaos): multi-process scenarios on loopback, each bounded in time.
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 30_000,
    // Scenarios start real processes and measure timing against the probe interval: two at a time
    // keeps a 2-core machine from starving them.
    maxWorkers: 2,
  },
});
