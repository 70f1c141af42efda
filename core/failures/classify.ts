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

/** Match a signal with the configured minimum confidence (or `minConfidence`). */
export async function classifySignal(s: FailureSignal, minConfidence?: number): Promise<MatchResult> {
  return matchSignal(await loadCatalog(), s, minConfidence ?? config().failures.matchMinConfidence);
}

/** Classify anything thrown. */
export function classify(error: unknown, minConfidence?: number): Promise<MatchResult> {
  return classifySignal(signalOf(error), minConfidence);
}

/** Classify described fields (the classify API). */
export function classifyFields(f: SignalFields, minConfidence?: number): Promise<MatchResult> {
  return classifySignal(signalFromFields(f), minConfidence);
}
