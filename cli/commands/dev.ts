import type { CommandSpec } from "../main.ts";

export const commands: CommandSpec[] = [
  {
    name: "dev",
    usage: "dev",
    summary: "Run AOS locally: Postgres, Redis, S3 and SQS stand-ins, every route, queue and schedule",
    async run() {
      const { runLocal } = await import("../../local/main.ts");
      return runLocal();
    },
  },
];
