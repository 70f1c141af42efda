import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/global.ts"],
    setupFiles: ["test/setup/per-file.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file gets its own database, Redis prefix, bucket and queues (see test/setup),
    // so files run in parallel on both cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
