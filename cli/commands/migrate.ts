import { pool } from "../../core/platform/db/index.ts";
import { Migrator } from "../../core/platform/db/migrator.ts";
import { asSystem } from "../context.ts";
import type { CommandSpec } from "../main.ts";

const migrator = async () => new Migrator(await pool(), "migrations", (m) => console.log(m));

export const commands: CommandSpec[] = [
  {
    name: "migrate up",
    usage: "migrate up [version]",
    summary: "Apply pending migrations (up to a version)",
    run: ({ positionals }) =>
      asSystem(async () => {
        const target = positionals[0] === undefined ? undefined : Number(positionals[0]);
        const done = await (await migrator()).up(target);
        console.log(done.length ? `applied ${done.length} migration(s)` : "nothing to apply");
        return 0;
      }),
  },
  {
    name: "migrate down",
    usage: "migrate down [n]",
    summary: "Revert the last n applied migrations (default 1)",
    run: ({ positionals }) =>
      asSystem(async () => {
        const n = Number(positionals[0] ?? 1);
        if (!Number.isInteger(n) || n < 1) throw new Error("n must be a positive integer");
        const done = await (await migrator()).down(n);
        console.log(`reverted ${done.length} migration(s)`);
        return 0;
      }),
  },
  {
    name: "migrate status",
    usage: "migrate status",
    summary: "List migrations and whether each is applied",
    run: () =>
      asSystem(async () => {
        for (const m of await (await migrator()).status()) {
          console.log(
            `${String(m.version).padStart(4, "0")}  ${m.state.padEnd(8)} ${m.name}${m.appliedAt ? `  ${m.appliedAt.toISOString()}` : ""}`,
          );
        }
        return 0;
      }),
  },
];
