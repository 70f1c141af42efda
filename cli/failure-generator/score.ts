/**
 * Matching quality against labels: what `aos failures generate --validate` prints and what the
 * corpus test asserts.
 *
 * - precision: among matches at confidence >= 0.8 (top-1, the entry recorded), the share whose
 *   entry is the label;
 * - recall: the share of all failures matched to their label at confidence >= 0.8;
 * - misses: failures recorded without an entry (below FAILURE_MATCH_MIN_CONFIDENCE);
 * - cross-category: matches (at any confidence) whose entry's category is not the label's: the
 *   matcher must never produce one.
 */

/** One labelled failure and what the matcher made of it. */
export interface Judged {
  label: string;
  labelCategory: string;
  entry: string | null;
  entryCategory: string | null;
  confidence: number;
  /** How the match was found (exact_code, kind_cause, message_pattern, similarity, miss), when known. */
  matchType?: string | undefined;
}

export interface CategoryFigures {
  category: string;
  n: number;
  confident: number;
  correct: number;
  misses: number;
  crossCategory: number;
}

export interface Figures {
  n: number;
  /** Matches at confidence >= threshold. */
  confident: number;
  /** Confident matches whose entry is the label. */
  correct: number;
  precision: number | null;
  recall: number | null;
  misses: number;
  crossCategory: number;
  /** Matches below the threshold (but above the minimum confidence): neither right nor wrong here. */
  weak: number;
  threshold: number;
  byCategory: CategoryFigures[];
  /** The wrong confident matches and the cross-category ones: label -> entry, with counts. */
  confusions: { label: string; entry: string | null; count: number }[];
}

export const PRECISION_THRESHOLD = 0.8;

export function score(xs: readonly Judged[], threshold = PRECISION_THRESHOLD): Figures {
  const cats = new Map<string, CategoryFigures>();
  const confusions = new Map<string, { label: string; entry: string | null; count: number }>();
  const f: Figures = {
    n: xs.length,
    confident: 0,
    correct: 0,
    precision: null,
    recall: null,
    misses: 0,
    crossCategory: 0,
    weak: 0,
    threshold,
    byCategory: [],
    confusions: [],
  };
  for (const x of xs) {
    let c = cats.get(x.labelCategory);
    if (!c) {
      c = { category: x.labelCategory, n: 0, confident: 0, correct: 0, misses: 0, crossCategory: 0 };
      cats.set(x.labelCategory, c);
    }
    c.n++;
    const confident = x.entry !== null && x.confidence >= threshold;
    const correct = confident && x.entry === x.label;
    const cross = x.entry !== null && x.entryCategory !== x.labelCategory;
    if (x.entry === null) {
      f.misses++;
      c.misses++;
    } else if (!confident) f.weak++;
    if (confident) {
      f.confident++;
      c.confident++;
    }
    if (correct) {
      f.correct++;
      c.correct++;
    }
    if (cross) {
      f.crossCategory++;
      c.crossCategory++;
    }
    if ((confident && !correct) || cross) {
      const k = `${x.label}\u0000${x.entry}`;
      const found = confusions.get(k) ?? { label: x.label, entry: x.entry, count: 0 };
      found.count++;
      confusions.set(k, found);
    }
  }
  f.precision = f.confident ? f.correct / f.confident : null;
  f.recall = f.n ? f.correct / f.n : null;
  f.byCategory = [...cats.values()].sort((a, b) => a.category.localeCompare(b.category));
  f.confusions = [...confusions.values()].sort((a, b) => b.count - a.count);
  return f;
}

const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);

/** The figures as printed lines: the totals, then a per-category table, then any confusion. */
export function formatFigures(f: Figures): string[] {
  const lines = [
    `failures: ${f.n}; matched at confidence >= ${f.threshold}: ${f.confident}; correct: ${f.correct}`,
    `precision (top-1, confidence >= ${f.threshold}): ${pct(f.precision)}`,
    `recall: ${pct(f.recall)}`,
    `misses: ${f.misses}; weak matches (below ${f.threshold}): ${f.weak}`,
    `cross-category matches: ${f.crossCategory}`,
    "",
    `${"category".padEnd(12)} ${"n".padStart(5)} ${"matched".padStart(8)} ${"correct".padStart(8)} ${"precision".padStart(10)} ${"recall".padStart(8)} ${"misses".padStart(7)} ${"cross".padStart(6)}`,
  ];
  for (const c of f.byCategory)
    lines.push(
      `${c.category.padEnd(12)} ${String(c.n).padStart(5)} ${String(c.confident).padStart(8)} ${String(c.correct).padStart(8)} ${pct(c.confident ? c.correct / c.confident : null).padStart(10)} ${pct(c.n ? c.correct / c.n : null).padStart(8)} ${String(c.misses).padStart(7)} ${String(c.crossCategory).padStart(6)}`,
    );
  if (f.confusions.length) {
    lines.push("", "wrong or cross-category matches (label -> entry):");
    for (const c of f.confusions) lines.push(`  ${c.label} -> ${c.entry ?? "(miss)"}: ${c.count}`);
  }
  return lines;
}
