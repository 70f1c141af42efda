import { readFile, writeFile } from "node:fs/promises";
import type { CommandSpec } from "../main.ts";

const FILE = "docs/openapi.json";

export const commands: CommandSpec[] = [
  {
    name: "openapi",
    usage: "openapi [--write | --check]",
    summary: "Print the OpenAPI description built from routes.ts and the handlers' zod schemas",
    options: {
      write: { type: "boolean", description: `write it to ${FILE}` },
      check: { type: "boolean", description: `exit 1 when ${FILE} is out of date` },
    },
    async run({ values }) {
      const { renderOpenApi } = await import("../openapi.ts");
      const doc = await renderOpenApi();
      if (values.write) {
        await writeFile(FILE, doc);
        console.log(`wrote ${FILE}`);
      } else if (values.check) {
        const current = await readFile(FILE, "utf8").catch(() => "");
        if (current !== doc) {
          console.error(`${FILE} is out of date: run npm run openapi`);
          return 1;
        }
        console.log(`${FILE} is up to date`);
      } else process.stdout.write(doc);
      return 0;
    },
  },
];
