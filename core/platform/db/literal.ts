/**
 * A state name written into a statement as a literal, from the constant the TypeScript code uses
 * too. A literal (not a `$n` parameter) keeps a statement's plan: a partial index
 * `where status = 'pending'` only serves a query whose predicate names 'pending' itself.
 *
 * @example
 *   const pending = sqlLiteral(ItemStatus.pending); // "'pending'"
 *   const sql = `select id from job_items where status = ${pending}`;
 */
export function sqlLiteral(value: string): string {
  // Only plain names: nothing a quote could escape from.
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) throw new Error(`not a state name: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/**
 * Every name of a set of states as a SQL literal, keyed alike.
 *
 * @example
 *   const I = sqlLiterals(ItemStates); // I.pending === "'pending'"
 */
export function sqlLiterals<T extends Record<string, string>>(states: T): { readonly [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(states).map(([k, v]) => [k, sqlLiteral(v)])) as {
    [K in keyof T]: string;
  };
}
