import { defineConfig } from "vitest/config";

// Tests live in test/ and beside the code; chaos scenarios run in their own script (npm run test:chaos).
export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "shared/**/*.test.ts",
      "coordinator/**/*.test.ts",
      "probes/**/*.test.ts",
      "cli/**/*.test.ts",
    ],
    exclude: ["test/chaos/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
