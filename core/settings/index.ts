/**
 * Every setting of AOS, one file per domain (core/settings/<domain>.ts), composed here. Read by
 * core/config.ts (the only reader of the environment) and by the settings table generator
 * (cli/settings-doc.ts, docs/settings.md).
 */

import { agents } from "./agents.ts";
import { costsim } from "./costsim.ts";
import type { SettingsSection } from "./declare.ts";
import { failures } from "./failures.ts";
import { jobs } from "./jobs.ts";
import { local } from "./local.ts";
import { platform } from "./platform.ts";
import { skills } from "./skills.ts";
import { statusHistory } from "./status-history.ts";
import { tenancy } from "./tenancy.ts";
import { workflows } from "./workflows.ts";

export { parseSettings, Setting, type SettingsSection, settingsOf, type ValuesOf } from "./declare.ts";

/** In this order in docs/settings.md. A new domain adds its file here. */
export const sections = [
  platform,
  tenancy,
  statusHistory,
  skills,
  jobs,
  failures,
  workflows,
  agents,
  costsim,
  local,
] as const;

type Merged<S extends readonly SettingsSection[]> = S extends readonly [
  infer H extends SettingsSection,
  ...infer R extends readonly SettingsSection[],
]
  ? H["tree"] & Merged<R>
  : unknown;

/** All settings, nested as `config()` nests them (each section owns distinct top-level keys). */
export const settingsTree = Object.assign({}, ...sections.map((s) => s.tree)) as Merged<typeof sections>;
