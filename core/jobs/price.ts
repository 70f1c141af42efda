/**
 * What a job's items cost: each item's price is fixed at spawn, reserved then, and charged when
 * the item is done (released when it fails, refunded when it is cancelled). Spawn and simulate
 * both price with `priceItems`, so an estimate and the charge agree to the credit.
 *
 * - A skill's item: the skill's cost model for the item's args (Skills.cost: base per call plus
 *   per unit), or the job's `credits_per_item` when that is higher: a job may add a margin, never
 *   go below the model.
 * - An `external` item: the job's `credits_per_item` (AOS runs nothing for it; the agent's work is
 *   what the tenant prices). It must be above 0 (JobSpawn): an item is rows, claims and history
 *   AOS keeps, and a free job would let a tenant with no credits queue unbounded work.
 */
import * as Skills from "../skills/index.ts";

/** Ten-thousandths of a credit (numeric(18,4)), so sums are exact integers. */
const units = (n: number) => Math.round(n * 10_000);

export interface Prices {
  /** One price per item, in item order. */
  items: number[];
  /** Their sum: the job's reserve. */
  total: number;
}

/**
 * The items' prices. `parsedArgs` are the items' inputs as the skill's schema parsed them
 * (validateItems); undefined for an external task.
 *
 * @example
 *   priceItems("voyage_embed", args, 1); // { items: [11, 1.2], total: 12.2 } for 100 and 2 inputs
 */
export function priceItems(
  task: string,
  parsedArgs: readonly unknown[] | undefined,
  creditsPerItem: number,
  n: number,
): Prices {
  const floor = units(creditsPerItem);
  const items: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const model = parsedArgs ? units(Skills.cost(task, parsedArgs[i])) : 0;
    const price = Math.max(floor, model);
    items.push(price / 10_000);
    total += price;
  }
  return { items, total: total / 10_000 };
}
