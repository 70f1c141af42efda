/**
 * The matcher: a failure's signal against the catalog, in tiers, strongest first.
 *
 * 1. `exact_code`: the error's code is listed by an entry and every other rule of that entry
 *    (status, target, body, cause) holds; the entry with the most rules wins (`upstream_error`
 *    with status 429 from slack is `slack.rate_limited`, not `upstream.rate_limited`).
 * 2. `kind_cause`: a code or error name on the cause chain (ECONNREFUSED, a SQLSTATE,
 *    TimeoutError) is one an entry lists, the kind agreeing when the entry names kinds.
 * 3. `message_pattern`: a pattern of an entry matches the normalised message (and the status,
 *    when the entry names statuses and the message says one).
 * 4. `similarity`: the normalised message's words against each entry's examples (Dice), only
 *    among entries whose category the error's kind, status or causes allow: similarity alone
 *    never crosses categories, and a failure with no such evidence is a miss.
 *
 * Below the minimum confidence (FAILURE_MATCH_MIN_CONFIDENCE) the result is a miss, with the best
 * candidate named in the explanation, never a forced guess.
 */
import type { CatalogEntry, FailureCategory, MatchRules, MatchType } from "./entry.ts";
import type { FailureSignal } from "./signal.ts";

export interface MatchResult {
  catalog_entry_id: string | null;
  match_type: MatchType;
  match_confidence: number;
  explanation: string;
  /** The entry matched; undefined for a miss. */
  entry?: CatalogEntry;
}

/** Confidence of each tier; similarity scales with the score and stays below the message tier. */
export const TIER_CONFIDENCE = { exact_code: 1, kind_cause: 0.9, message_pattern: 0.8, similarity_max: 0.75 } as const;

/** Categories an error's kind allows: the evidence similarity needs before it may pick an entry. */
const KIND_CATEGORIES: Readonly<Record<string, readonly FailureCategory[]>> = {
  validation: ["validation", "data"],
  unauthorized: ["auth"],
  forbidden: ["auth"],
  not_found: ["data"],
  conflict: ["concurrency", "data"],
  gone: ["data"],
  insufficient_credits: ["capacity"],
  rate_limited: ["rate_limit"],
  bad_gateway: ["upstream", "network", "auth", "rate_limit", "validation", "config"],
  timeout: ["network", "capacity", "upstream"],
  unavailable: ["network", "capacity", "upstream", "config"],
  internal: ["internal", "config"],
};

function statusCategories(status: number): readonly FailureCategory[] {
  if (status === 429) return ["rate_limit"];
  if (status === 401 || status === 403) return ["auth"];
  if (status === 408 || status >= 500) return ["upstream", "network"];
  return ["upstream", "validation", "config", "data"];
}

/** The categories the signal's evidence allows, or undefined when it gives none. */
export function allowedCategories(
  s: FailureSignal,
  byCause: ReadonlyMap<string, CatalogEntry[]>,
): Set<string> | undefined {
  const sets: (readonly string[])[] = [];
  if (s.kind && KIND_CATEGORIES[s.kind]) sets.push(KIND_CATEGORIES[s.kind] as readonly string[]);
  if (s.status !== undefined) sets.push(statusCategories(s.status));
  const causeCats = new Set<string>();
  for (const l of s.chain)
    for (const c of [l.code, l.name]) for (const e of (c && byCause.get(c)) || []) causeCats.add(e.category);
  if (causeCats.size) sets.push([...causeCats]);
  if (!sets.length) return undefined;
  // Every piece of evidence must agree: the intersection.
  let out = new Set(sets[0]);
  for (const set of sets.slice(1)) out = new Set([...out].filter((c) => set.includes(c)));
  return out;
}

const inStatus = (r: MatchRules, status: number | undefined): boolean | undefined => {
  if (!r.statuses && !r.statusRange) return undefined;
  if (status === undefined) return false;
  if (r.statuses?.includes(status)) return true;
  return r.statusRange ? status >= r.statusRange[0] && status <= r.statusRange[1] : false;
};

/** A compiled catalog: patterns as RegExps, indexes by code and by cause, example word sets. */
export interface CompiledCatalog {
  entries: readonly CatalogEntry[];
  byCode: Map<string, CatalogEntry[]>;
  byCause: Map<string, CatalogEntry[]>;
  patterns: Map<string, { message: RegExp[]; body: RegExp[] }>;
  words: Map<string, Set<string>[]>;
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
};

/** Words of a normalised message, for similarity (placeholders count as words). */
export function wordsOf(normalised: string): Set<string> {
  return new Set(normalised.split(/[^a-z0-9_<>]+/).filter((w) => w.length > 1));
}

export function compileCatalog(entries: readonly CatalogEntry[], normalise: (m: string) => string): CompiledCatalog {
  const c: CompiledCatalog = { entries, byCode: new Map(), byCause: new Map(), patterns: new Map(), words: new Map() };
  for (const e of entries) {
    for (const code of e.match.codes ?? []) push(c.byCode, code, e);
    for (const code of e.match.causeCodes ?? []) push(c.byCause, code, e);
    c.patterns.set(e.id, {
      message: (e.match.messagePatterns ?? []).map((p) => new RegExp(p, "i")),
      body: (e.match.bodyPatterns ?? []).map((p) => new RegExp(p, "i")),
    });
    c.words.set(
      e.id,
      e.examples.map((x) => wordsOf(normalise(x))),
    );
  }
  return c;
}

/**
 * Codes along the chain, outermost first, then error names. A code (Node's ECONNREFUSED, a
 * SQLSTATE) names the failure; a name often only says what carried it: undici's `TypeError:
 * fetch failed` wraps the ECONNREFUSED that says what happened, so the code deeper down counts first.
 */
const chainCodes = (s: FailureSignal): string[] => [
  ...s.chain.flatMap((l) => (l.code ? [l.code] : [])),
  ...s.chain.flatMap((l) => (l.name ? [l.name] : [])),
];

/** Tier 1: every rule beyond the code must hold; returns the count of rules that held, or -1. */
function refinements(c: CompiledCatalog, e: CatalogEntry, s: FailureSignal, causes: readonly string[]): number {
  let n = 0;
  const st = inStatus(e.match, s.status);
  if (st === false) return -1;
  // A listed status is more specific than a range (503 is upstream.unavailable before 5xx).
  if (st) n += e.match.statuses?.includes(s.status as number) ? 2 : 1;
  if (e.match.targets) {
    if (!s.target || !e.match.targets.includes(s.target)) return -1;
    n += 2;
  }
  const body = c.patterns.get(e.id)?.body ?? [];
  if (body.length) {
    const text = `${s.body ?? ""} ${s.message}`;
    if (!body.some((p) => p.test(text))) return -1;
    n++;
  }
  // Causes refine a code only for entries that share the code with others (DNS, TLS, refused).
  if (e.match.causeCodes && (c.byCode.get(s.code ?? "")?.length ?? 0) > 1) {
    if (!e.match.causeCodes.some((x) => causes.includes(x))) return -1;
    n++;
  }
  return n;
}

const ruleNames = (e: CatalogEntry, s: FailureSignal): string => {
  const parts = [`code ${s.code}`];
  if (s.status !== undefined) parts.push(`upstream status ${s.status}`);
  if (e.match.targets) parts.push(`target ${s.target}`);
  if (e.match.bodyPatterns) parts.push("reply body");
  return parts.join(", ");
};

export function dice(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (!a.size || !b.size) return 0;
  let common = 0;
  for (const w of a) if (b.has(w)) common++;
  return (2 * common) / (a.size + b.size);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Match a signal. `minConfidence` turns a weak match into a miss. */
export function matchSignal(c: CompiledCatalog, s: FailureSignal, minConfidence: number): MatchResult {
  const causes = chainCodes(s);
  const hit = (e: CatalogEntry, type: MatchType, confidence: number, why: string): MatchResult => {
    const conf = round(confidence);
    if (conf < minConfidence)
      return {
        catalog_entry_id: null,
        match_type: "miss",
        match_confidence: conf,
        explanation: `best candidate ${e.id} (${type}: ${why}) at ${conf}, below the minimum ${minConfidence}`,
      };
    return { catalog_entry_id: e.id, match_type: type, match_confidence: conf, explanation: why, entry: e };
  };

  // Tier 1: exact code, the most specific entry whose rules all hold.
  if (s.code) {
    const ranked = (c.byCode.get(s.code) ?? [])
      .map((e) => ({ e, n: refinements(c, e, s, causes) }))
      .filter((x) => x.n >= 0)
      .sort((a, b) => b.n - a.n);
    const best = ranked[0];
    if (best) {
      const tie = ranked[1] && ranked[1].n === best.n;
      const why = `${ruleNames(best.e, s)} listed by ${best.e.id}${tie ? ` (as specific as ${ranked[1]?.e.id})` : ""}`;
      return hit(best.e, "exact_code", tie ? 0.85 : TIER_CONFIDENCE.exact_code, why);
    }
  }

  // Tier 2: a code or name on the cause chain, the kind agreeing.
  for (const code of causes) {
    const found = (c.byCause.get(code) ?? []).filter(
      (e) => (!s.kind || !e.match.kinds || e.match.kinds.includes(s.kind)) && inStatus(e.match, s.status) !== false,
    );
    // Several entries share a cause only when they differ by code: prefer one listing the code.
    const e = found.find((x) => s.code && x.match.codes?.includes(s.code)) ?? found[0];
    if (e) {
      const link = s.chain.findIndex((l) => l.code === code || l.name === code);
      const where = link <= 0 ? "the error" : `cause #${link}`;
      const conf = TIER_CONFIDENCE.kind_cause - (found.length > 1 ? 0.05 : 0);
      return hit(e, "kind_cause", conf, `${code} on ${where} is listed by ${e.id}${s.kind ? ` (kind ${s.kind})` : ""}`);
    }
  }

  // Tier 3: a message pattern (the entry's status rule must agree when it has one).
  const byPattern: { e: CatalogEntry; p: RegExp }[] = [];
  for (const e of c.entries) {
    if (e.match.kinds && s.kind && !e.match.kinds.includes(s.kind)) continue;
    const st = inStatus(e.match, s.status);
    if (st === false) continue;
    if (e.match.targets && (!s.target || !e.match.targets.includes(s.target))) continue;
    const p = c.patterns.get(e.id)?.message.find((r) => r.test(s.normalised));
    if (p) byPattern.push({ e, p });
  }
  if (byPattern.length) {
    const cats = new Set(byPattern.map((x) => x.e.category));
    const first = byPattern[0] as { e: CatalogEntry; p: RegExp };
    // Patterns of entries in different categories: ambiguous, and no tier may guess across categories.
    const conf = cats.size > 1 ? 0.6 : TIER_CONFIDENCE.message_pattern;
    const others =
      byPattern.length > 1
        ? ` (also ${byPattern
            .slice(1)
            .map((x) => x.e.id)
            .join(", ")})`
        : "";
    return hit(
      first.e,
      "message_pattern",
      conf,
      `normalised message matches /${first.p.source}/ of ${first.e.id}${others}`,
    );
  }

  // Tier 4: similarity, within the categories the evidence allows.
  const allowed = allowedCategories(s, c.byCause);
  const words = wordsOf(s.normalised);
  let best: { e: CatalogEntry; score: number } | undefined;
  let bestAny: { e: CatalogEntry; score: number } | undefined;
  for (const e of c.entries) {
    const score = Math.max(0, ...(c.words.get(e.id) ?? []).map((w) => dice(words, w)));
    if (!bestAny || score > bestAny.score) bestAny = { e, score };
    if (allowed?.has(e.category) && (!best || score > best.score)) best = { e, score };
  }
  if (best && best.score > 0)
    return hit(
      best.e,
      "similarity",
      TIER_CONFIDENCE.similarity_max * best.score,
      `message ${Math.round(best.score * 100)}% similar to an example of ${best.e.id} (category ${best.e.category}, allowed by the error's ${s.kind ? `kind ${s.kind}` : s.status ? `status ${s.status}` : "causes"})`,
    );
  const why =
    bestAny && bestAny.score > 0
      ? allowed
        ? `nearest entry ${bestAny.e.id} (${Math.round(bestAny.score * 100)}% similar) is of category ${bestAny.e.category}, which the error's kind, status or causes rule out`
        : `nearest entry ${bestAny.e.id} (${Math.round(bestAny.score * 100)}% similar), but nothing about the error (kind, status, causes) says its category`
      : "no entry lists its code, causes or message";
  return { catalog_entry_id: null, match_type: "miss", match_confidence: 0, explanation: why };
}
