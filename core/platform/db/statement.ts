/**
 * A statement of a `*.sql.ts` module, exported on its own and read through a namespace import
 * (`import * as sql from "./x.sql.ts"`, then `sql.getJob`), so a bundle carries only the
 * statements its handler runs. The text is exactly the template's.
 *
 * @example
 *   export const getJob = /* @__PURE__ *\/ statement(() => `select ${jobColumns} from jobs j where j.id = $1`);
 *
 * Why the wrapper and the annotation: esbuild keeps an unused template literal with substitutions
 * (`${columns}` could run a `toString`), and it keeps the arguments of an unused pure call that
 * might have effects, so `export const x = \`...${y}\`` stays in every bundle that imports the
 * module. A call annotated pure whose argument is an arrow function is dropped whole when its
 * result is unused. Plain strings (no substitutions) need neither.
 */
export function statement<T>(text: () => T): T {
  return text();
}
