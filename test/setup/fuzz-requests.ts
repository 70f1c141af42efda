/**
 * fast-check arbitraries of hostile HTTP requests, driven by the OpenAPI document: for one
 * operation, a request whose path parameters, query, headers and body are mostly what the
 * document declares (so calls reach deep into the handlers) with hostile parts mixed in: wrong
 * types, NUL characters and unpaired surrogates, deep nesting, huge and unicode strings, extra
 * fields, impossible dates and forged cursors, missing or garbage keys, the wrong content type,
 * a wrong method. Generated strings never contain `:`, so no generated URL can send a request
 * off this machine.
 */
import fc from "fast-check";

type Json = Record<string, any>;

export interface Operation {
  method: string;
  /** OpenAPI path, `/api/v1/jobs/{id}`. */
  path: string;
  op: Json;
}

export interface FuzzRequest {
  method: string;
  /** Path and query, percent-encoded. */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The operation the request was generated for. */
  operation: Operation;
}

/** Values the fixture gives the fuzz: real ids per path parameter, keys per role. */
export interface FuzzWorld {
  keys: Record<"admin" | "operator" | "agent" | "viewer", string>;
  ids: Record<string, readonly string[]>;
  tenants: readonly string[];
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/** Text without `:` (no URL scheme can form), from any Unicode code point. */
const text = (maxLength = 40) => fc.string({ unit: "binary", maxLength }).map((s) => s.replaceAll(":", "_"));

const hostileString = fc.oneof(
  // Text with a NUL or an unpaired surrogate somewhere in it.
  {
    weight: 3,
    arbitrary: fc
      .tuple(text(20), fc.constantFrom("\u0000", "\ud800", "\udfff"), text(20))
      .map(([a, bad, b]) => a + bad + b),
  },
  { weight: 2, arbitrary: fc.constantFrom("", " ", "%", "%00", "../..", "null", "💥\u200b\u202e") },
  { weight: 2, arbitrary: text(200) },
  // Over the 16 KB of a request line once percent-encoded (a 431), and a 100 KB body string.
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(5_000), "é".repeat(3_000), "y".repeat(100_000)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "0000-01-01T00:00:00Z",
      "2026-02-30T10:00:00Z",
      "275760-09-13T00:00:00Z",
      "9999-12-31T23:59:59.999999Z",
      "2026-11-22T10:00:00+25:00",
    ),
  },
);

const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(1e308, -1, 0, 0.5, -0, 2 ** 53 + 2, 1e21, -(2 ** 31) - 1, 2 ** 31) },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}, [null], { __proto__: 1 }, { constructor: "x" }) },
  { weight: 1, arbitrary: fc.constantFrom(nested(70), nested(63)) },
  { weight: 1, arbitrary: fc.dictionary(text(8), fc.oneof(text(), fc.integer(), hostileString), { maxKeys: 3 }) },
);

/** A cursor this API never returned: garbage, or base64url JSON of plausible and impossible keys. */
const forgedCursor = fc.oneof(
  hostileString,
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          "desc",
          "asc",
          "0000-01-01T00:00:00.000Z",
          "2026-02-30T00:00:00.000000Z",
          "2026-01-01T00:00:00.000Z",
        ),
        fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, 1.5, 1e300),
        fc.uuid(),
        hostileString,
      ),
      { maxLength: 4 },
    )
    .map((key) => Buffer.from(JSON.stringify(key)).toString("base64url")),
);

function resolve(schema: Json, doc: Json): Json {
  let s = schema;
  for (let i = 0; i < 10 && typeof s?.$ref === "string"; i++) {
    s = (s.$ref as string)
      .replace(/^#\//, "")
      .split("/")
      .reduce((o: Json, k) => o?.[k], doc);
  }
  return s ?? {};
}

/**
 * A value the schema accepts, most of the time; one value in eight a hostile one, so most requests
 * have a bad part somewhere and many still reach the handler's core call.
 */
export function fromSchema(schema: Json, doc: Json, world: FuzzWorld, depth = 0): fc.Arbitrary<unknown> {
  const valid = validFor(resolve(schema, doc), doc, world, depth);
  return fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });
}

/** Text the pattern accepts (a skill name where a task is asked), never with a `:`. */
function matching(pattern: string, world: FuzzWorld): fc.Arbitrary<string> {
  const re = new RegExp(pattern);
  const names = (world.ids.name ?? []).filter((n) => re.test(n));
  const any = fc.stringMatching(re, { size: "small" }).map((v) => v.replaceAll(":", "_"));
  return names.length ? fc.oneof(fc.constantFrom(...names, "external"), any) : any;
}

function validFor(s: Json, doc: Json, world: FuzzWorld, depth: number): fc.Arbitrary<unknown> {
  const options = s.anyOf ?? s.oneOf;
  if (Array.isArray(options) && options.length)
    return fc.oneof(...options.map((o: Json) => validFor(resolve(o, doc), doc, world, depth + 1)));
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  if ("const" in s) return fc.constant(s.const);
  if (depth > 4) return fc.constant(null);
  switch (s.type) {
    case "string":
      if (s.format === "uuid") return fc.oneof(fc.constantFrom(...Object.values(world.ids).flat()), fc.uuid());
      if (s.format === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      if (/tenant/.test(String(s.description))) return fc.constantFrom(...world.tenants);
      if (s.pattern) return matching(s.pattern, world);
      return text(Math.min(s.maxLength ?? 40, 40)).map((v) => v || "x");
    case "integer":
      return fc.integer({ min: s.minimum ?? -5, max: Math.min(s.maximum ?? 50, (s.minimum ?? 0) + 50) });
    case "number":
      return fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1e6, noNaN: true }));
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(fromSchema(s.items ?? {}, doc, world, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, 3),
      });
    case "object": {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries<Json>(s.properties ?? {})) props[k] = fromSchema(v, doc, world, depth + 1);
      return fc
        .tuple(
          fc.record(props, { requiredKeys: s.required ?? [] }),
          fc.dictionary(text(10), hostileValue, { maxKeys: 1 }),
          fc.nat(9),
        )
        .map(([known, extra, dice]) => (dice === 0 ? { ...known, ...extra } : known));
    }
    default:
      return fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileValue);
  }
}

/** `encodeURIComponent`, except that an unpaired surrogate goes as bytes no UTF-8 decoder accepts. */
function encode(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return encodeURIComponent(v.replace(/[\ud800-\udfff]/g, "")) + "%ED%A0%80";
  }
}

const headerText = fc.string({ unit: "grapheme-ascii", maxLength: 60 });

/** Every request of `operation`, hostile in one or more parts. */
export function requestFor(operation: Operation, doc: Json, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const { op } = operation;
  const params: Json[] = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;

  const pathValue = (p: Json) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...(world.ids[p.name] ?? ["x"])) },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 2, arbitrary: hostileString.map((v) => v || "x") },
    );
  const queryValue = (p: Json): fc.Arbitrary<string> =>
    p.name === "cursor"
      ? forgedCursor
      : fc.oneof(
          {
            weight: 3,
            arbitrary: fromSchema(p.schema ?? {}, doc, world).map((v) =>
              typeof v === "string" ? v : (JSON.stringify(v) ?? ""),
            ),
          },
          { weight: 1, arbitrary: hostileString },
        );
  // Each parameter in about one request of three; now and then one the operation does not know.
  const query = fc.tuple(
    fc.tuple(
      ...queryParams.map((p) =>
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: queryValue(p).map((v) => [p.name, v] as const) },
        ),
      ),
    ),
    fc.option(
      fc.tuple(
        text(12).map((k) => k || "extra"),
        hostileString,
      ),
      { freq: 8 },
    ),
  );

  const body: fc.Arbitrary<string | undefined> = fc.oneof(
    {
      weight: 8,
      arbitrary: bodySchema ? fromSchema(bodySchema, doc, world).map((v) => JSON.stringify(v)) : fc.constant(undefined),
    },
    { weight: 1, arbitrary: fc.constantFrom("{", "[1,]", "nul", '{"a":', "\u0000", "{}", "[]", '"text"', "") },
    { weight: 1, arbitrary: fc.constantFrom(65, 10_000).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`) },
    { weight: 1, arbitrary: hostileValue.map((v) => JSON.stringify(v)) },
  );

  // Mostly admin, which every route lets through to its handler.
  const role = fc.oneof(
    { weight: 5, arbitrary: fc.constant("admin" as const) },
    { weight: 1, arbitrary: fc.constantFrom("operator", "agent", "viewer") as fc.Arbitrary<keyof FuzzWorld["keys"]> },
  );
  const authorization = fc.oneof(
    { weight: 8, arbitrary: role.map((r) => `Bearer ${world.keys[r]}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        headerText.map((s) => `Bearer ${s}`),
        fc.constantFrom("Basic dXNlcjpwYXNz", "Bearer", "bearer  aos_", `Bearer aos_${"A".repeat(32)}`),
      ),
    },
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant("application/json") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-16",
      ),
    },
  );
  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constant(operation.method.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
  );

  return fc
    .record({
      method,
      path: fc.tuple(...pathParams.map(pathValue)),
      query,
      body,
      authorization,
      contentType,
      correlation: fc.option(headerText, { freq: 4 }),
    })
    .map((r) => {
      let i = 0;
      const path = operation.path.replace(/\{[^}]+\}/g, () => encode(String(r.path[i++] ?? "x")));
      const [known, extra] = r.query;
      const pairs = known.flatMap((kv) => (kv ? [`${encode(kv[0])}=${encode(String(kv[1]))}`] : []));
      if (extra) pairs.push(`${encode(extra[0])}=${encode(extra[1])}`);
      const headers: Record<string, string> = {};
      if (r.authorization) headers.authorization = r.authorization;
      if (r.body !== undefined && r.contentType) headers["content-type"] = r.contentType;
      if (r.correlation !== null) headers["x-correlation-id"] = r.correlation;
      return {
        method: r.method,
        url: pairs.length ? `${path}?${pairs.join("&")}` : path,
        headers,
        ...(r.body !== undefined && r.method !== "GET" && r.method !== "HEAD" ? { body: r.body } : {}),
        operation,
      };
    });
}

/** Every operation of the document. */
export function operationsOf(doc: Json): Operation[] {
  return Object.entries<Json>(doc.paths).flatMap(([path, ops]) =>
    Object.entries<Json>(ops).map(([method, op]) => ({ method, path, op })),
  );
}
