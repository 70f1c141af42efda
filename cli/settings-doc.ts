/**
 * docs/settings.md, generated from the settings declarations (core/settings/<domain>.ts):
 * `npx aos settings --write` (or `npm run docs:settings`) refreshes it, and a test fails when the
 * committed file and the declarations disagree.
 */
import { type SettingsSection, sections, settingsOf } from "../core/settings/index.ts";

export const SETTINGS_DOC = "docs/settings.md";

const HEADER = `# Settings

<!-- Generated from core/settings/<domain>.ts by \`npm run docs:settings\`; do not edit by hand. -->

Every setting is an environment variable, declared once in \`core/settings/<domain>.ts\`
(variable, type, default, meaning) and parsed once, with zod, in \`core/config.ts\`, the only
reader of the environment. When deployed, a variable marked "SST link" or "SST secret" comes from
the function's links unless the environment sets it; each linked \`<Name>Queue\` adds its URL to
\`QUEUE_URLS\`. A secret left at the stacks' placeholder \`unset\` counts as not set.
`;

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  // The last column (the meaning, long) is not padded: only the short ones line up.
  const last = widths.length - 1;
  const line = (r: string[]) => `| ${r.map((c, i) => (i < last ? c.padEnd(widths[i]!) : c)).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => "-".repeat(i < last ? w : 3)).join(" | ")} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)];
}

function section(s: SettingsSection): string {
  const rows = settingsOf(s.tree).map(({ setting }) => {
    const { link, secret, shownDefault } = setting.options;
    const def = setting.presence === "default" && shownDefault === undefined ? `\`${setting.shown}\`` : setting.shown;
    const deployed = secret ? ` (deployed: SST secret \`${secret}\`)` : link ? ` (deployed: SST link \`${link}\`)` : "";
    return [`\`${setting.env}\``, setting.type, def, `${setting.doc}${deployed}`].map(cell);
  });
  return [`## ${s.domain}`, "", ...table([["variable", "type", "default", "meaning"], ...rows])].join("\n");
}

/** The whole of docs/settings.md. */
export function renderSettingsDoc(all: readonly SettingsSection[] = sections): string {
  return `${[HEADER.trimEnd(), ...all.map(section)].join("\n\n")}\n`;
}
