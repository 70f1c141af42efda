/**
 * One declaration per setting: its environment variable, type, default, documentation and, when
 * deployed, the SST link or secret that fills it. From the declarations come the zod schema that
 * parses the environment, the typed configuration object (`config()`, core/config.ts) and the
 * settings table (docs/settings.md, `npx aos settings --write`).
 *
 * A setting is one line of its domain's file (core/settings/<domain>.ts); its key in the tree is
 * its key in `config()`:
 *
 * @example
 *   export const jobs = declareSettings("jobs", {
 *     jobs: { maxParallelism: int("JOBS_MAX_PARALLELISM", 50, "items of one job in flight at once", { min: 1 }) },
 *   });
 *   // config().jobs.maxParallelism: number
 */
import * as z from "zod/mini";

/** Pass as the default of a setting that must be set (no default, parsing fails without it). */
export const required: unique symbol = Symbol("required");
type Def<T> = T | undefined | typeof required;
/** What `config()` holds for a setting of type T declared with default D. */
type Out<T, D> = D extends undefined ? T | undefined : T;

export interface SettingOptions {
  /** The default as the docs show it, when the value alone would not say it (`(AWS)`, `aos-exports-<stage>`). */
  shownDefault?: string;
  /** When deployed, the value of an SST link: `DatabaseUrl.value`, `Exports.name`. */
  link?: `${string}.${"value" | "name" | "url"}`;
  /** When deployed, the value of this SST secret; the stacks' placeholder `unset` counts as not set. */
  secret?: string;
}

export class Setting<T = unknown> {
  constructor(
    /** Environment variable, UPPER_SNAKE_CASE. */
    readonly env: string,
    /** Parses the variable's string (or its absence) into the value. */
    readonly schema: z.ZodMiniType<T>,
    /** For the docs: `integer >= 1`, `URL`, ... */
    readonly type: string,
    /** `default`: absent means `shown`; `optional`: absent means undefined; `required`: absent is an error. */
    readonly presence: "default" | "optional" | "required",
    /** For the docs: the default as text. */
    readonly shown: string,
    /** For the docs: what it does, in a phrase. */
    readonly doc: string,
    readonly options: SettingOptions = {},
  ) {}
}

function make<T, D extends Def<unknown>>(
  env: string,
  base: z.ZodMiniType<T>,
  type: string,
  def: D,
  doc: string,
  o: SettingOptions = {},
): Setting<Out<T, D>> {
  let schema: z.ZodMiniType<unknown> = base;
  let presence: Setting["presence"] = "required";
  let shown = "(required)";
  if (def === undefined) {
    schema = z.optional(base);
    presence = "optional";
    shown = o.shownDefault ?? "(none)";
  } else if (def !== required) {
    schema = z._default(base as z.ZodMiniType<unknown>, def as never);
    presence = "default";
    shown = o.shownDefault ?? String(def);
  }
  return new Setting(env, schema as z.ZodMiniType<Out<T, D>>, type, presence, shown, doc, o);
}

const range = (min: number, max?: number) => (max === undefined ? `integer >= ${min}` : `integer ${min}-${max}`);

/** An integer, at least `min` (default 0), at most `max`. */
export function int<const D extends Def<number>>(
  env: string,
  def: D,
  doc: string,
  o: SettingOptions & { min?: number; max?: number } = {},
): Setting<Out<number, D>> {
  const min = o.min ?? 0;
  const checks = [z.int(), z.minimum(min), ...(o.max === undefined ? [] : [z.maximum(o.max)])];
  return make(env, z.coerce.number().check(...checks), range(min, o.max), def, doc, o);
}

/** A finite number from `min` to `max` (a fraction, a ratio). */
export function num<const D extends Def<number>>(
  env: string,
  def: D,
  doc: string,
  o: SettingOptions & { min: number; max: number },
): Setting<Out<number, D>> {
  const schema = z.coerce.number().check(z.minimum(o.min), z.maximum(o.max));
  return make(env, schema, `number ${o.min}-${o.max}`, def, doc, o);
}

const truthy = ["1", "true", "yes"];
/** `1`/`0`, `true`/`false` or `yes`/`no`. */
export function bool<const D extends Def<boolean>>(
  env: string,
  def: D,
  doc: string,
  o: SettingOptions = {},
): Setting<Out<boolean, D>> {
  const schema = z.pipe(
    z.enum(["1", "0", "true", "false", "yes", "no"]),
    z.transform((v) => truthy.includes(v)),
  );
  return make(env, schema, "boolean", def, doc, o);
}

/** A string; non-empty unless `minLength: 0` (optional strings may be empty unless told otherwise). */
export function text<const D extends Def<string>>(
  env: string,
  def: D,
  doc: string,
  o: SettingOptions & { minLength?: number; pattern?: RegExp } = {},
): Setting<Out<string, D>> {
  const min = o.minLength ?? (def === undefined ? 0 : 1);
  const checks = [...(min > 0 ? [z.minLength(min)] : []), ...(o.pattern ? [z.regex(o.pattern)] : [])];
  const type = o.pattern
    ? `string matching \`${o.pattern.source}\``
    : min > 1
      ? `string of ${min}+ characters`
      : "string";
  return make(env, checks.length ? z.string().check(...checks) : z.string(), type, def, doc, o);
}

/** A URL; `trimSlash` drops trailing slashes (a base URL that paths are appended to). */
export function url<const D extends Def<string>>(
  env: string,
  def: D,
  doc: string,
  o: SettingOptions & { trimSlash?: boolean } = {},
): Setting<Out<string, D>> {
  const base = z.string().check(z.url());
  const schema = o.trimSlash
    ? z.pipe(
        base,
        z.transform((v: string) => v.replace(/\/+$/, "")),
      )
    : base;
  return make(env, schema, "URL", def, doc, o);
}

/** One of a few words. */
export function oneOf<const V extends readonly [string, ...string[]], const D extends Def<V[number]>>(
  env: string,
  values: V,
  def: D,
  doc: string,
  o: SettingOptions = {},
): Setting<Out<V[number], D>> {
  return make(env, z.enum(values), values.map((v) => `\`${v}\``).join(", "), def, doc, o);
}

/** Comma-separated words, trimmed and lower-cased; empty by default. */
export function list(env: string, doc: string, o: SettingOptions = {}): Setting<readonly string[]> {
  const schema = z.pipe(
    z.string(),
    z.transform((v: string) =>
      v
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  );
  const none: readonly string[] = [];
  return make(env, schema as z.ZodMiniType<readonly string[]>, "comma-separated list", none, doc, {
    shownDefault: "(empty)",
    ...o,
  });
}

/** Comma-separated http(s) URLs without credentials (each checked, trailing slashes dropped: base URLs that paths are appended to); empty by default. */
export function urls(env: string, doc: string, o: SettingOptions = {}): Setting<readonly string[]> {
  const schema = z.pipe(
    z.string(),
    z.pipe(
      z.transform((v: string) =>
        v
          .split(",")
          .map((u) => u.trim().replace(/\/+$/, ""))
          .filter(Boolean),
      ),
      z.array(
        z.string().check(
          z.url({ protocol: /^https?$/ }),
          // fetch refuses them, and a URL is kept in rows and logs: no credentials in it.
          z.refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), "a URL with credentials (user:password@) is not supported"),
        ),
      ),
    ),
  );
  const none: readonly string[] = [];
  return make(env, schema as unknown as z.ZodMiniType<readonly string[]>, "comma-separated URLs", none, doc, {
    shownDefault: "(empty)",
    ...o,
  });
}

/** Settings, nested as `config()` nests them. */
export interface SettingsTree {
  readonly [key: string]: Setting | SettingsTree;
}
/** The values a tree parses to. */
export type ValuesOf<T> = {
  readonly [K in keyof T]: T[K] extends Setting<infer V> ? V : ValuesOf<T[K]>;
};

/** One domain's settings: a section of docs/settings.md and part of `config()`. */
export interface SettingsSection<T extends SettingsTree = SettingsTree> {
  readonly domain: string;
  readonly tree: T;
}

export const declareSettings = <const T extends SettingsTree>(domain: string, tree: T): SettingsSection<T> => ({
  domain,
  tree,
});

/** Every setting of a tree with its key path (`skills.breaker.cooldownS`), in declaration order. */
export function settingsOf(tree: SettingsTree, prefix: string[] = []): Array<{ key: string; setting: Setting }> {
  return Object.entries(tree).flatMap(([k, v]) =>
    v instanceof Setting ? [{ key: [...prefix, k].join("."), setting: v }] : settingsOf(v, [...prefix, k]),
  );
}

/**
 * Parses `input` (environment variables by name) against every setting of `tree`. Answers the
 * values nested as the tree, or one line per bad variable.
 */
export function parseSettings<T extends SettingsTree>(
  tree: T,
  input: Readonly<Record<string, string | undefined>>,
): { values: ValuesOf<T> } | { problems: string[] } {
  const flat = settingsOf(tree);
  const shape = Object.fromEntries(flat.map(({ setting }) => [setting.env, setting.schema]));
  const parsed = z.safeParse(z.object(shape), input);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) };
  const env = parsed.data as Record<string, unknown>;
  const fill = (t: SettingsTree): Record<string, unknown> =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v instanceof Setting ? env[v.env] : fill(v)]));
  return { values: fill(tree) as ValuesOf<T> };
}
