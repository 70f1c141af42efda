import { readFile, writeFile } from "node:fs/promises";
import type { CommandSpec } from "../main.ts";

const FILE = "docs/openapi.json";

export const commands: CommandSpec[] = [
  {
    name: "openapi",
    usage: "openapi [--write | --check]",
    summary: "Print the OpenAPI description built from routes.ts and the handlers' zod schemas",
    options: {
      write: {
        type: "boolean",
        description: `write it to ${FILE}, the error codes to docs/errors.md and the route list to README.md`,
      },
      check: {
        type: "boolean",
        description: `exit 1 when ${FILE}, docs/errors.md or README.md's route list is out of date`,
      },
    },
    async run({ values }) {
      const { renderOpenApi } = await import("../openapi.ts");
      const { ERRORS_DOC, renderErrorsDoc } = await import("../error-codes.ts");
      const { README, withRouteTable } = await import("../readme-routes.ts");
      const openapi = await renderOpenApi();
      const files: [string, string][] = [
        [FILE, openapi],
        [ERRORS_DOC, await renderErrorsDoc()],
        [README, withRouteTable(await readFile(README, "utf8"), JSON.parse(openapi))],
      ];
      if (values.write) {
        for (const [file, text] of files) {
          await writeFile(file, text);
          console.log(`wrote ${file}`);
        }
      } else if (values.check) {
        for (const [file, text] of files) {
          const current = await readFile(file, "utf8").catch(() => "");
          if (current !== text) {
            console.error(`${file} is out of date: run npm run openapi`);
            return 1;
          }
          console.log(`${file} is up to date`);
        }
      } else process.stdout.write(files[0]?.[1] ?? "");
      return 0;
    },
  },
];
