/**
 * voyage_embed: embeddings from the Voyage AI API (VOYAGE_BASE_URL, key VOYAGE_API_KEY), the
 * inputs sent in batches of at most VOYAGE_MAX_BATCH, the vectors returned in input order with
 * the token usage summed over the batches.
 *
 * Limits (docs.voyageai.com/reference/embeddings-api): at most 1,000 texts per request, and at
 * most 1M tokens per request for the -lite models, 320K for voyage-4, voyage-3.5 and voyage-2,
 * 120K for the -large, code, finance and law models. A batch closes at VOYAGE_MAX_BATCH texts or
 * at 90% of the model's token limit by a conservative estimate, whichever comes first. Batches
 * run one after another: bounded memory, and no burst against Voyage's per-minute rate limits.
 *
 * On failure: no VOYAGE_API_KEY -> 503 `skills.not_configured`; network errors, timeouts, 5xx and
 * 429 are retried per batch (seeded backoff, Retry-After honoured), then 502 `skills.upstream_error`
 * counted by the `voyage` breaker; other 4xx (a bad key) -> 502 `skills.upstream_rejected`; a
 * reply that is not the documented shape -> 502 `skills.upstream_invalid_response`, not retried.
 *
 * @example
 *   const { result } = await Skills.execute("voyage_embed", { input: ["a", "b"], input_type: "document" });
 */
import * as z from "zod/mini";
import { config } from "../config.ts";
import { SkillNotConfiguredError, UpstreamError } from "./errors.ts";
import { ensureOk, send } from "./outbound.ts";
import type { SkillRun } from "./types.ts";
import type { voyageEmbedSpec } from "./voyage-embed-spec.ts";

export const voyageEmbed = {
  async run(args, ctx) {
    const v = config().skills.voyage;
    if (!v.apiKey) throw new SkillNotConfiguredError("voyage_embed", "VOYAGE_API_KEY");
    const url = `${v.baseUrl.replace(/\/+$/, "")}/v1/embeddings`;
    const headers = { authorization: `Bearer ${v.apiKey}`, "content-type": "application/json" };
    const embeddings: number[][] = [];
    let totalTokens = 0;
    let model: string | undefined;
    const batches = planBatches(args.input, v.maxBatch, tokenBudget(args.model));
    for (const [step, texts] of batches.entries()) {
      const body = JSON.stringify({
        input: texts,
        model: args.model,
        ...(args.input_type ? { input_type: args.input_type } : {}),
      });
      const res = await ctx.retry(step, async () =>
        ensureOk(
          await send({
            target: "voyage",
            url,
            method: "POST",
            headers,
            body,
            maxResponseBytes: v.maxResponseBytes,
            signal: ctx.signal,
          }),
          "voyage",
        ),
      );
      const batch = readBatch(res.body, texts.length, res.status);
      const dim = embeddings[0]?.length ?? batch.vectors[0]?.length;
      if (batch.vectors.some((e) => e.length !== dim)) throw invalid("vectors of different dimensions", res.status);
      embeddings.push(...batch.vectors);
      totalTokens += batch.tokens;
      model ??= batch.model;
    }
    return { model: model ?? args.model, embeddings, usage: { total_tokens: totalTokens }, batches: batches.length };
  },
} satisfies SkillRun<typeof voyageEmbedSpec>;

/** Documented per-request token limits, by model; an unknown model gets the smallest. */
const TOKEN_LIMITS: ReadonlyArray<[RegExp, number]> = [
  [/-lite$/, 1_000_000],
  [/^voyage-(4|3\.5|2)$/, 320_000],
];

/** What a batch may carry by our estimate: 90% of the limit, a margin for the estimate's error. */
export const tokenBudget = (model: string): number =>
  Math.floor(0.9 * (TOKEN_LIMITS.find(([re]) => re.test(model))?.[1] ?? 120_000));

/**
 * The estimate: one token per UTF-16 code unit. Voyage's tokenizer averages several characters a
 * token in English, so this overestimates (more, smaller batches) rather than risk a request the
 * API refuses as a whole.
 */
const estimateTokens = (text: string): number => text.length;

/** Consecutive slices of `input`, each within `maxBatch` texts and (unless one text alone) `budget` tokens. */
export function planBatches(input: readonly string[], maxBatch: number, budget: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let tokens = 0;
  for (const text of input) {
    const t = estimateTokens(text);
    if (cur.length && (cur.length >= maxBatch || tokens + t > budget)) {
      out.push(cur);
      cur = [];
      tokens = 0;
    }
    cur.push(text);
    tokens += t;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Voyage's reply, as documented; extra fields are ignored. */
const VoyageReply = z.object({
  data: z.array(z.object({ embedding: z.array(z.number()).check(z.minLength(1)), index: z.int() })),
  model: z.optional(z.string()),
  usage: z.object({ total_tokens: z.int().check(z.nonnegative()) }),
});

const invalid = (why: string, status: number) =>
  new UpstreamError("voyage", `Voyage returned an invalid embeddings reply: ${why}`, {
    retryable: false,
    status,
    code: "skills.upstream_invalid_response",
  });

/** One batch's vectors in input order (by each item's `index`), its tokens and model. */
function readBatch(raw: Buffer, count: number, status: number) {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw invalid("not JSON", status);
  }
  const r = z.safeParse(VoyageReply, json);
  if (!r.success)
    throw invalid(r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "), status);
  const { data, usage, model } = r.data;
  if (data.length !== count) throw invalid(`${data.length} embeddings for ${count} inputs`, status);
  const vectors: number[][] = new Array(count);
  for (const d of data) {
    if (d.index < 0 || d.index >= count || vectors[d.index])
      throw invalid(`index ${d.index} out of range or repeated`, status);
    vectors[d.index] = d.embedding;
  }
  return { vectors, tokens: usage.total_tokens, model };
}
