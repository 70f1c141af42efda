/**
 * The `aos` CLI: one file per command group under cli/commands/, registered below.
 * Commands that touch the database or Redis directly read the same configuration as the server
 * (DATABASE_URL, REDIS_URL, ...); commands that talk to a running AOS use AOS_URL and AOS_KEY.
 */
import { parseArgs } from "node:util";

export interface CommandSpec {
  /** `migrate up`, `keys create` ... */
  name: string;
  summary: string;
  usage: string;
  options?: Record<
    string,
    { type: "string" | "boolean"; short?: string; description: string; default?: string | boolean }
  >;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }): Promise<number>;
}

type Loader = () => Promise<{ commands: CommandSpec[] }>;

/** Command groups, loaded lazily so `aos --help` does not open connections. */
const groups: Record<string, Loader> = {
  dev: () => import("./commands/dev.ts"),
  migrate: () => import("./commands/migrate.ts"),
  tenants: () => import("./commands/tenants.ts"),
  keys: () => import("./commands/keys.ts"),
  export: () => import("./commands/export.ts"),
  openapi: () => import("./commands/openapi.ts"),
  settings: () => import("./commands/settings.ts"),
  api: () => import("./commands/api.ts"),
  health: () => import("./commands/api.ts"),
  "load-test": () => import("./commands/load-test.ts"),
};

async function allCommands(): Promise<CommandSpec[]> {
  const loaded = await Promise.all([...new Set(Object.values(groups))].map((l) => l()));
  return [...new Set(loaded.flatMap((g) => g.commands))];
}

function help(cmds: CommandSpec[]): string {
  return [
    "aos: command line of the AOS control plane",
    "",
    "Usage: aos <command> [options]",
    "",
    "Commands:",
    ...cmds.flatMap((c) => [`  aos ${c.usage}`, `      ${c.summary}`]),
    "",
    "Run `aos <command> --help` for a command's options.",
    "Environment: DATABASE_URL, REDIS_URL, ... as the server (docs/settings.md, `aos settings`); AOS_URL and AOS_KEY for commands that call a running AOS.",
  ].join("\n");
}

function commandHelp(c: CommandSpec): string {
  const opts = Object.entries(c.options ?? {}).map(
    ([k, o]) =>
      `  --${k}${o.type === "string" ? " <value>" : ""}  ${o.description}${o.default !== undefined ? ` (default: ${o.default})` : ""}`,
  );
  return [`Usage: aos ${c.usage}`, "", c.summary, ...(opts.length ? ["", "Options:", ...opts] : [])].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === "--help" || group === "-h" || group === "help") {
    console.log(help(await allCommands()));
    return 0;
  }
  const loader = groups[group];
  if (!loader) {
    console.error(`aos: unknown command "${group}"\n\n${help(await allCommands())}`);
    return 2;
  }
  const { commands } = await loader();
  const sub = rest[0] && !rest[0].startsWith("-") ? rest[0] : undefined;
  const cmd = commands.find((c) => c.name === `${group} ${sub}`) ?? commands.find((c) => c.name === group);
  if (!cmd) {
    console.error(
      `aos ${group}: unknown subcommand "${sub ?? ""}"\n\n${commands.map((c) => `  aos ${c.usage}`).join("\n")}`,
    );
    return 2;
  }
  const args = cmd.name === group ? rest : rest.slice(1);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(commandHelp(cmd));
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: cmd.options ?? {}, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`aos ${cmd.name}: ${(e as Error).message}\n\n${commandHelp(cmd)}`);
    return 2;
  }
  try {
    return await cmd.run(parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`aos ${cmd.name}: ${err.message}`);
    return 1;
  }
}
