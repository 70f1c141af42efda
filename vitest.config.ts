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
    // The AWS SDK warns on Node 20 about releases after January 2027; we pin 3.1169.0 (stack-facts.md).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
