import { readFile, writeFile } from "node:fs/promises";
import type { CommandSpec } from "../main.ts";

export const commands: CommandSpec[] = [
  {
    name: "settings",
    usage: "settings [--write | --check]",
    summary: "Print the table of every setting (environment variable), built from core/settings/<domain>.ts",
    options: {
      write: { type: "boolean", description: "write it to docs/settings.md" },
      check: { type: "boolean", description: "exit 1 when docs/settings.md is out of date" },
    },
    async run({ values }) {
      const { renderSettingsDoc, SETTINGS_DOC } = await import("../settings-doc.ts");
      const doc = renderSettingsDoc();
      if (values.write) {
        await writeFile(SETTINGS_DOC, doc);
        console.log(`wrote ${SETTINGS_DOC}`);
      } else if (values.check) {
        const current = await readFile(SETTINGS_DOC, "utf8").catch(() => "");
        if (current !== doc) {
          console.error(`${SETTINGS_DOC} is out of date: run npm run docs:settings`);
          return 1;
        }
        console.log(`${SETTINGS_DOC} is up to date`);
      } else process.stdout.write(doc);
      return 0;
    },
  },
];
