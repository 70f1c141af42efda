/** Schema dumps for migration tests: `pg_dump --schema-only`, minus lines that vary between runs. */
import { execFileSync } from "node:child_process";

export function dumpSchema(url: string): string {
  const out = execFileSync("pg_dump", ["--schema-only", "--no-owner", "--no-privileges", "--no-comments", url], {
    encoding: "utf8",
  });
  return (
    out
      .split("\n")
      // \restrict keys are random per dump; comments and SETs carry versions and nothing of the schema.
      .filter(
        (l) =>
          !/^\\(un)?restrict /.test(l) &&
          !l.startsWith("--") &&
          !/^SET /.test(l) &&
          !/^SELECT pg_catalog\.set_config/.test(l),
      )
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim() + "\n"
  );
}
