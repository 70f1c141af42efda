/**
 * What voyage_embed declares: its argument and result schemas and its spec (registry.ts reads this;
 * validation, pricing and descriptions need nothing else). Its `run` is voyage-embed.ts, loaded only
 * when the skill is called (runnable.ts).
 */
import * as z from "zod/mini";
import { defineSpec } from "./types.ts";

export const VoyageEmbedArgs = z.strictObject({
  input: z.array(z.string().check(z.minLength(1), z.maxLength(100_000))).check(z.minLength(1), z.maxLength(10_000)),
  model: z._default(z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)), "voyage-3.5"),
  input_type: z.optional(z.nullable(z.enum(["query", "document"]))),
});
export type VoyageEmbedArgs = z.output<typeof VoyageEmbedArgs>;

export const VoyageEmbedResult = z.object({
  model: z.string(),
  /** One vector per input, in input order. */
  embeddings: z.array(z.array(z.number())),
  usage: z.object({ total_tokens: z.int() }),
  /** Requests made to the API. */
  batches: z.int(),
});

/** What voyageEmbed declares (spawn and simulation read only this). */
export const voyageEmbedSpec = defineSpec({
  name: "voyage_embed",
  version: "1.0.0",
  description: "Embed texts with the Voyage AI embeddings API (batched), returning vectors and token usage",
  input: VoyageEmbedArgs,
  output: VoyageEmbedResult,
  deterministic: true,
  sideEffects: false,
  breaker: { scope: "global", target: () => "voyage" },
  cost: { base: 1, perUnit: { unit: "input", credits: 0.1 }, units: (args) => args.input.length },
});
