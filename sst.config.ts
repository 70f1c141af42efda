/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The AOS app: stages, removal policy and the stacks (docs/deploy.md).
 *
 * No top-level imports: SST evaluates `app()` on its own, before any provider exists, and
 * refuses a config with imports. Each stack file is imported inside `run()`.
 */
export default $config({
  app(input) {
    return {
      name: "aos",
      // prod keeps its bucket and state when the stage is removed; every other stage is disposable.
      removal: input?.stage === "prod" ? "retain" : "remove",
      protect: input?.stage === "prod",
      home: "aws",
    };
  },
  async run() {
    const { exportsBucket } = await import("./stacks/storage.ts");
    const { queues } = await import("./stacks/queues.ts");
    const { api } = await import("./stacks/api.ts");
    const { crons } = await import("./stacks/crons.ts");
    return {
      api: api.url,
      exportsBucket: exportsBucket.name,
      queues: Object.fromEntries(Object.entries(queues).map(([name, q]) => [name, q.url])),
      crons: Object.keys(crons),
    };
  },
});
