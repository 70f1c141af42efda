/**
 * Classify a failure against the catalog without recording it. The catalog and its compiled
 * form load on the first failure (a dynamic import), so a handler that never fails never parses
 * them.
 *
 * @example
 *   const m = await classify(new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429 }));
 *   // { catalog_entry_id: "slack.rate_limited", match_type: "exact_code", match_confidence: 1, ... }
 */
import { config } from "../config.ts";
import type { CatalogEntry } from "./entry.ts";
import { type CompiledCatalog, compileCatalog, type MatchResult, matchSignal } from "./match.ts";
import type { CatalogReply, ClassifyBody, ClassifyReply } from "./schema.ts";
import { type FailureSignal, normaliseMessage, type SignalFields, signalFromFields, signalOf } from "./signal.ts";

let compiled: Promise<CompiledCatalog> | undefined;

/** The compiled catalog, loaded once per process. */
export function loadCatalog(): Promise<CompiledCatalog> {
  compiled ??= import("./catalog/index.ts").then((m) => compileCatalog(m.catalog, normaliseMessage));
  return compiled;
}

/** Every entry, in the catalog's order. */
export async function listCatalog(): Promise<readonly CatalogEntry[]> {
  return (await loadCatalog()).entries;
}

type WireEntry = CatalogReply["data"][number];

/** `GET /api/v1/failures/catalog`. */
export async function catalogReply(): Promise<CatalogReply> {
  const data = (await listCatalog()).map(toWire);
  return { count: data.length, data };
}

/** Match a signal with the configured minimum confidence (or `minConfidence`). */
export async function classifySignal(s: FailureSignal, minConfidence?: number): Promise<MatchResult> {
  return matchSignal(await loadCatalog(), s, minConfidence ?? config().failures.matchMinConfidence);
}

/** Classify anything thrown. */
export function classify(error: unknown, minConfidence?: number): Promise<MatchResult> {
  return classifySignal(signalOf(error), minConfidence);
}

/** The classify API: described fields, matched without recording; the entry in full. */
export async function classifyRequest(body: ClassifyBody): Promise<ClassifyReply> {
  const { min_confidence, ...fields } = body;
  const { entry, ...m } = await classifyFields(fields, min_confidence);
  return { ...m, entry: entry ? toWire(entry) : null };
}

/** An entry as the API shows it (plain JSON: patterns as their source text). */
export const toWire = (e: CatalogEntry): WireEntry => ({ ...e, examples: [...e.examples], match: { ...e.match } });

/** Classify described fields (the classify API). */
export function classifyFields(f: SignalFields, minConfidence?: number): Promise<MatchResult> {
  return classifySignal(signalFromFields(f), minConfidence);
}
