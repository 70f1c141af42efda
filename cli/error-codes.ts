/**
 * Every error code AOS can answer with, read from the error classes themselves: the source of
 * core/, functions/ and local/ is parsed (TypeScript's parser, no type check) and each place an
 * error of the one tree is built (`new XError(...)`, a class's `super(...)`, a default `code`
 * parameter, a `{ kind, code, message }` rule such as the Postgres table, the local runtime's
 * `errorReply(status, code, ...)`) is followed through its classes' constructors down to
 * `AppError(kind, code, message)`. docs/errors.md and the OpenAPI description's table are
 * rendered from it (`npm run openapi`); a test fails when either is stale.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type * as TS from "typescript";
import { type ErrorKind, statusOfKind } from "../core/errors.ts";

export const ERRORS_DOC = "docs/errors.md";

export interface ErrorCode {
  code: string;
  /** HTTP statuses it is answered with (several when its kind depends on the call). */
  statuses: number[];
  /** A message it is answered with; `…` stands for what the call fills in. */
  message: string;
  /** Files that build it, relative to the repository root. */
  files: string[];
}

/** A value the evaluator knows: text (with `…` where it could not tell), or an object literal. */
type Val = { text: string; exact: boolean } | { props: Map<string, Val | undefined> } | undefined;

interface ClassInfo {
  base: string;
  params: { name: string; init?: TS.Expression }[];
  superArgs?: readonly TS.Expression[];
  file: TS.SourceFile;
}

interface Found {
  kind: Val;
  code: Val;
  message: Val;
  status?: number;
  file: string;
}

const ROOT_DIRS = ["core", "functions", "local"];

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
    }
  };
  for (const d of ROOT_DIRS) walk(join(root, d));
  return out.sort();
}

const isText = (v: Val): v is { text: string; exact: boolean } => v !== undefined && "text" in v;

/**
 * The error codes built by `sources` (file name -> TypeScript text). By default, every source
 * file of core/, functions/ and local/ under `root`.
 */
let scanned: Promise<ErrorCode[]> | undefined;

export function scanErrorCodes(sources?: Record<string, string>, root = "."): Promise<ErrorCode[]> {
  if (sources || root !== ".") return scan(sources, root);
  // The repository's own sources, read once per process (the OpenAPI build and docs/errors.md share it).
  scanned ??= scan(undefined, root);
  return scanned;
}

async function scan(sources: Record<string, string> | undefined, root: string): Promise<ErrorCode[]> {
  const ts = (await import("typescript")).default;
  const texts =
    sources ?? Object.fromEntries(sourceFiles(root).map((f) => [relative(root, f), readFileSync(f, "utf8")]));
  const files = Object.entries(texts).map(([name, text]) =>
    ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS),
  );

  // Pass 1: classes (name -> base, constructor parameters, super arguments) and string constants.
  const classes = new Map<string, ClassInfo>();
  const consts = new Map<TS.SourceFile, Map<string, TS.Expression>>();
  const functions = new Map<TS.SourceFile, Map<string, TS.FunctionDeclaration>>();
  for (const file of files) {
    const fileConsts = new Map<string, TS.Expression>();
    const fileFunctions = new Map<string, TS.FunctionDeclaration>();
    consts.set(file, fileConsts);
    functions.set(file, fileFunctions);
    const visit = (node: TS.Node) => {
      if (ts.isFunctionDeclaration(node) && node.name && node.body) fileFunctions.set(node.name.text, node);
      if (ts.isClassDeclaration(node) && node.name) {
        const ext = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
        if (ext && ts.isIdentifier(ext.expression)) {
          const ctor = node.members.find(ts.isConstructorDeclaration);
          let superArgs: readonly TS.Expression[] | undefined;
          ctor?.body?.forEachChild(function find(n): void {
            if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) superArgs = n.arguments;
            else n.forEachChild(find);
          });
          classes.set(node.name.text, {
            base: ext.expression.text,
            params: (ctor?.parameters ?? []).map((p) => ({
              name: ts.isIdentifier(p.name) ? p.name.text : "",
              init: p.initializer,
            })),
            superArgs: ctor ? superArgs : undefined,
            file,
          });
        }
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer)
        fileConsts.set(node.name.text, node.initializer);
      node.forEachChild(visit);
    };
    visit(file);
  }

  const evaluate = (e: TS.Expression | undefined, env: Map<string, Val>, file: TS.SourceFile, depth = 0): Val => {
    if (!e || depth > 20) return undefined;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return { text: e.text, exact: true };
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) return evaluate(e.expression, env, file, depth + 1);
    if (ts.isTemplateExpression(e)) {
      const spans = e.templateSpans.map((s) => {
        const v = evaluate(s.expression, env, file, depth + 1);
        return `${isText(v) && v.exact ? v.text : "…"}${s.literal.text}`;
      });
      return { text: e.head.text + spans.join(""), exact: false };
    }
    if (ts.isIdentifier(e)) {
      if (env.has(e.text)) return env.get(e.text);
      const c = consts.get(file)?.get(e.text);
      return c ? evaluate(c, new Map(), file, depth + 1) : undefined;
    }
    if (ts.isObjectLiteralExpression(e)) {
      const props = new Map<string, Val>();
      for (const p of e.properties) {
        if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)))
          props.set(p.name.text, evaluate(p.initializer, env, file, depth + 1));
        if (ts.isSpreadAssignment(p)) {
          const spread = evaluate(p.expression, env, file, depth + 1);
          if (spread && "props" in spread) for (const [k, v] of spread.props) props.set(k, v);
        }
      }
      return { props };
    }
    if (ts.isPropertyAccessExpression(e)) {
      const target = evaluate(e.expression, env, file, depth + 1);
      return target && "props" in target ? target.props.get(e.name.text) : undefined;
    }
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
      return evaluate(e.left, env, file, depth + 1) ?? evaluate(e.right, env, file, depth + 1);
    if (ts.isConditionalExpression(e)) return evaluate(e.whenTrue, env, file, depth + 1);
    return undefined;
  };

  /** Follow `new name(args)` through the constructors down to AppError(kind, code, message). */
  const construct = (name: string, args: Val[], depth = 0): Omit<Found, "file"> | undefined => {
    if (name === "AppError") return { kind: args[0], code: args[1], message: args[2] };
    const cls = classes.get(name);
    if (!cls || depth > 20) return undefined;
    if (!cls.superArgs) return construct(cls.base, args, depth + 1);
    const env = new Map<string, Val>();
    cls.params.forEach((p, i) => {
      env.set(p.name, args[i] ?? evaluate(p.init, env, cls.file));
    });
    return construct(
      cls.base,
      cls.superArgs.map((a) => evaluate(a, env, cls.file)),
      depth + 1,
    );
  };
  const isError = (name: string, depth = 0): boolean =>
    name === "AppError" || (depth < 20 && classes.has(name) && isError(classes.get(name)?.base ?? "", depth + 1));

  // Pass 2: every place an error is built.
  const found: Found[] = [];
  const built = (node: TS.NewExpression, env: Map<string, Val>, file: TS.SourceFile) => {
    if (!ts.isIdentifier(node.expression) || !isError(node.expression.text)) return;
    const r = construct(
      node.expression.text,
      (node.arguments ?? []).map((a) => evaluate(a, env, file)),
    );
    if (r) found.push({ ...r, file: file.fileName });
  };
  for (const file of files) {
    const visit = (node: TS.Node) => {
      if (ts.isNewExpression(node)) built(node, new Map(), file);
      // A helper of the same file that builds the error from its parameters (`refuse(..., { code })`):
      // the errors of its body, with this call's arguments.
      const helper =
        ts.isCallExpression(node) && ts.isIdentifier(node.expression)
          ? functions.get(file)?.get(node.expression.text)
          : undefined;
      if (helper && ts.isCallExpression(node)) {
        const env = new Map<string, Val>();
        helper.parameters.forEach((p, i) => {
          if (ts.isIdentifier(p.name)) env.set(p.name.text, evaluate(node.arguments[i], new Map(), file));
        });
        helper.body?.forEachChild(function inner(n): void {
          if (ts.isNewExpression(n)) built(n, env, file);
          n.forEachChild(inner);
        });
      }
      if (ts.isClassDeclaration(node) && node.name && isError(node.name.text)) {
        // A class whose code is fixed (or defaulted) is documented even before anything builds it.
        const r = construct(node.name.text, []);
        if (r) found.push({ ...r, file: file.fileName });
      }
      if (ts.isObjectLiteralExpression(node)) {
        const v = evaluate(node, new Map(), file);
        if (v && "props" in v && isText(v.props.get("kind")) && isText(v.props.get("code")))
          found.push({
            kind: v.props.get("kind"),
            code: v.props.get("code"),
            message: v.props.get("message"),
            file: file.fileName,
          });
      }
      if (
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === "errorReply" &&
        node.arguments.length >= 3
      ) {
        const [status, code, message] = node.arguments.map((a) => evaluate(a, new Map(), file));
        const s = node.arguments[0];
        const n = s && ts.isNumericLiteral(s) ? Number(s.text) : undefined;
        if (n !== undefined) found.push({ kind: undefined, code, message, status: n, file: file.fileName });
        else if (isText(status)) found.push({ kind: undefined, code, message, file: file.fileName });
      }
      node.forEachChild(visit);
    };
    visit(file);
  }

  const byCode = new Map<string, ErrorCode>();
  for (const f of found) {
    if (!isText(f.code) || !f.code.exact) continue;
    const kind = isText(f.kind) && f.kind.exact ? (f.kind.text as ErrorKind) : undefined;
    const status = f.status ?? (kind ? statusOfKind[kind] : undefined);
    if (status === undefined) continue;
    const entry = byCode.get(f.code.text) ?? { code: f.code.text, statuses: [], message: "", files: [] };
    if (!entry.statuses.includes(status)) entry.statuses.push(status);
    // The envelope never describes an internal error (functions/_lib/errors.ts).
    if (!entry.message) entry.message = status === 500 ? "Internal error" : isText(f.message) ? f.message.text : "";
    if (!entry.files.includes(f.file)) entry.files.push(f.file);
    byCode.set(f.code.text, entry);
  }
  return [...byCode.values()]
    .map((e) => ({ ...e, statuses: e.statuses.sort(), files: e.files.sort() }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The table of codes, as Markdown. */
export function errorCodesTable(codes: readonly ErrorCode[]): string {
  const rows = codes.map(
    (c) =>
      `| \`${c.code}\` | ${c.statuses.join(", ")} | ${cell(c.message || "…")} | ${c.files.map((f) => `\`${f}\``).join(", ")} |`,
  );
  return [
    "| code | status | message (… is filled in per call) | raised in |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

const HEADER = `# Error codes

<!-- Generated from the error classes by \`npm run openapi\` (cli/error-codes.ts); do not edit by hand. -->

Every error reply has one shape, \`{"error":{"code","message","details","requestId"}}\`, and its
\`code\` is one of these. A 400's \`details.fields\` lists every bad field (\`body.items.0.input\`,
\`query.cursor\`, \`header.x-correlation-id\`) with a message in AOS's words. Codes without a dot
are answered by the HTTP layer itself (the local runtime, as API Gateway would). A 500's code
and message say nothing of the cause: its \`requestId\` finds the log line. The same table is in
the OpenAPI description (\`GET /openapi.json\`); limits are in [api.md](api.md).
`;

export async function renderErrorsDoc(codes?: readonly ErrorCode[]): Promise<string> {
  return `${HEADER}\n${errorCodesTable(codes ?? (await scanErrorCodes()))}\n`;
}
