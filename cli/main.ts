/**
 * The `aos` CLI: one file per command group under cli/commands/, registered below.
 * Commands that touch the database or Redis directly read the same configuration as the server
 * (DATABASE_URL, REDIS_URL, ...); commands that talk to a running AOS use AOS_URL and AOS_KEY.
 *
 * Exit codes: 0 done (and every `--help`); 1 the command failed (printed as what to do, e.g. which
 * URL could not be reached and how to start it); 2 the command was used wrongly (with its help).
 */
import { parseArgs } from "node:util";
import { UsageError } from "./failures.ts";

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
  workflows: () => import("./commands/workflows.ts"),
  replay: () => import("./commands/workflows.ts"),
  agents: () => import("./commands/agents.ts"),
  messages: () => import("./commands/agents.ts"),
  invoke: () => import("./commands/agents.ts"),
  blackboard: () => import("./commands/agents.ts"),
  failures: () => import("./commands/failures.ts"),
  costsim: () => import("./commands/costsim.ts"),
};

/** What each group reaches, for its help. */
const reaches: Record<string, string> = {
  migrate: "Postgres as the owner role (DATABASE_MIGRATION_URL; docs/decisions/0011-db-roles.md)",
  tenants: "Postgres and Redis directly (DATABASE_URL, REDIS_URL); no running AOS needed",
  keys: "Postgres and Redis directly (DATABASE_URL, REDIS_URL); no running AOS needed",
  export: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  api: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  health: "a running AOS (AOS_URL; `npm start` runs one)",
  workflows: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  replay: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  agents: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  messages: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  invoke: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  blackboard: "a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
  failures:
    "Postgres and Redis directly (DATABASE_URL, REDIS_URL), migrated (`aos migrate up`); no running AOS needed. generate also starts loopback HTTP servers of its own",
  costsim:
    "backfill: Postgres directly (DATABASE_URL), migrated (`aos migrate up`), no running AOS needed; the others: a running AOS (AOS_URL, AOS_KEY; `npm start` runs one)",
};

async function allCommands(): Promise<CommandSpec[]> {
  const loaded = await Promise.all([...new Set(Object.values(groups))].map((l) => l()));
  return [...new Set(loaded.flatMap((g) => g.commands))];
}

const listing = (cmds: CommandSpec[]) => cmds.flatMap((c) => [`  aos ${c.usage}`, `      ${c.summary}`]);

function help(cmds: CommandSpec[]): string {
  return [
    "aos: command line of the AOS control plane",
    "",
    "Usage: aos <command> [options]",
    "",
    "Commands:",
    ...listing(cmds),
    "",
    "Run `aos <command> --help` for a command's options. A tenant is always named with --tenant <slug or id>.",
    "Environment: DATABASE_URL, REDIS_URL, ... as the server (docs/settings.md, `aos settings`); AOS_URL and AOS_KEY for commands that call a running AOS.",
  ].join("\n");
}

function groupHelp(group: string, cmds: CommandSpec[]): string {
  return [
    `Usage: aos ${group} <subcommand> [options]`,
    "",
    "Subcommands:",
    ...listing(cmds),
    "",
    `Run \`aos ${group} <subcommand> --help\` for its options.`,
    ...(reaches[group] ? [`Reaches: ${reaches[group]}.`] : []),
  ].join("\n");
}

function commandHelp(c: CommandSpec): string {
  const opts = Object.entries(c.options ?? {}).map(
    ([k, o]) =>
      `  --${k}${o.type === "string" ? " <value>" : ""}  ${o.description}${o.default !== undefined ? ` (default: ${o.default})` : ""}`,
  );
  const group = c.name.split(" ")[0] ?? "";
  return [
    `Usage: aos ${c.usage}`,
    "",
    c.summary,
    "",
    "Options:",
    ...opts,
    "  --help  print this help",
    ...(reaches[group] ? ["", `Reaches: ${reaches[group]}.`] : []),
  ].join("\n");
}

const wantsHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

export async function main(argv: string[]): Promise<number> {
  let [group, ...rest] = argv;
  if (group === "help" && rest[0]) [group, ...rest] = [rest[0], "--help", ...rest.slice(1)];
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
    const ofGroup = commands.filter((c) => c.name.startsWith(`${group} `));
    if (!sub && wantsHelp(rest)) {
      console.log(groupHelp(group, ofGroup));
      return 0;
    }
    const what = sub ? `unknown subcommand "${sub}"` : "a subcommand is required";
    console.error(`aos ${group}: ${what}\n\n${groupHelp(group, ofGroup)}`);
    return 2;
  }
  const args = cmd.name === group ? rest : rest.slice(1);
  if (wantsHelp(args)) {
    console.log(commandHelp(cmd));
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: cmd.options ?? {},
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    console.error(`aos ${cmd.name}: ${(e as Error).message}\n\n${commandHelp(cmd)}`);
    return 2;
  }
  try {
    return await cmd.run(parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`aos ${cmd.name}: ${e.message}\n\n${commandHelp(cmd)}`);
      return 2;
    }
    // A CliFailure (cli/failures.ts) says what to do, e.g. which URL it could not reach and how to start it.
    console.error(`aos ${cmd.name}: ${(e as Error).message}`);
    return 1;
  }
}
