import type { CommandSpec } from "../main.ts";

/** After a clean stop, a handle some library left open must not keep `aos dev` alive. */
const EXIT_GRACE_MS = 3000;

export const commands: CommandSpec[] = [
  {
    name: "dev",
    usage: "dev [--stop-services]",
    summary: "Run AOS locally: Postgres, Redis, S3 and SQS stand-ins, Alertmanager, every route, queue and schedule",
    options: {
      "stop-services": {
        type: "boolean",
        description:
          "Stop the private Postgres, Redis and Alertmanager that earlier runs started under .aos/, then exit",
      },
    },
    async run({ values }) {
      if (values["stop-services"]) {
        const { config } = await import("../../core/config.ts");
        const { stopServices } = await import("../../local/services.ts");
        const stopped = await stopServices(config().dataDir, (m) => console.log(m));
        if (!stopped.length)
          console.log(`no private Postgres, Redis or Alertmanager running under ${config().dataDir}/`);
        return 0;
      }
      const { runLocal } = await import("../../local/main.ts");
      const code = await runLocal();
      setTimeout(() => {
        const open = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap");
        console.error(`aos dev: still open after stopping (${open.join(", ")}); exiting anyway`);
        process.exit(code);
      }, EXIT_GRACE_MS).unref();
      return code;
    },
  },
];
