/**
 * Builds the OpenAPI 3.1 description from the route table and each handler's zod schemas
 * (`handler.spec`, attached by httpHandler). `aos openapi --write` refreshes docs/openapi.json;
 * a test fails when the committed file and the code disagree or a route is undocumented.
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import type { $ZodType } from "zod/v4/core";
import type { HttpHandler } from "../functions/_lib/http.ts";
import { type HttpRoute, handlerFile, routes } from "../functions/routes.ts";
import { errorCodesTable, scanErrorCodes } from "./error-codes.ts";
import { documentSkills } from "./openapi-skills.ts";

type Json = Record<string, unknown>;

/**
 * Refinements of a route's generated operation where a zod schema cannot say it all, by handler:
 * they may change the operation and add to `schemas` (components.schemas). Kept here, not in the
 * handler's spec, so documentation code never lands in a Lambda bundle.
 */
const refinements: Readonly<Record<string, (operation: Json, schemas: Json) => void>> = {
  "functions/http/skills/execute.handler": documentSkills,
  // A 503 of /health is its report (the same shape as the 200) naming what is down.
  "functions/http/health/get.handler": (op) => {
    const responses = op.responses as Record<string, Json>;
    responses["503"] = { ...responses["200"], description: "A dependency is down: the same report, `down` naming it" };
  },
};

/**
 * Replies any operation may give, whatever its route: declared once (components.responses) and
 * referred to by each operation, unless the route describes its own (`spec.errors`).
 */
const commonResponses: Readonly<Record<string, { name: string; description: string }>> = {
  "405": {
    name: "MethodNotAllowed",
    description:
      "The path exists, but not with this method: the `Allow` header lists the ones it has (`npm start`; " +
      "API Gateway answers an unknown route with its own 404, see docs/api.md)",
  },
  "413": { name: "PayloadTooLarge", description: "The body is over 10 MB" },
  "431": { name: "HeadersTooLarge", description: "The request line (a long URL counts) and headers are over 16 KB" },
  "500": { name: "InternalError", description: "Internal error; the requestId finds the log" },
  "503": {
    name: "Unavailable",
    description: "A dependency (Postgres, Redis, S3, SQS) is unavailable: retry later (`Retry-After` when known)",
  },
  "504": {
    name: "Timeout",
    description: "The request did not finish in time (a statement timeout, the gateway's 30 s)",
  },
};

const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string().describe("Dotted machine-readable code, e.g. auth.invalid_key"),
    message: z.string(),
    details: z.unknown().describe("For validation errors: { fields: [{ field, message }] }"),
    requestId: z.string(),
  }),
});

const jsonSchema = (s: $ZodType, io: "input" | "output"): Json =>
  z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;

function strip(schema: Json): Json {
  const { $schema: _drop, ...rest } = schema;
  return rest;
}

function parameters(where: "path" | "query", schema: $ZodType | undefined): Json[] {
  if (!schema) return [];
  const js = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || (js.required ?? []).includes(name),
    schema: s,
    ...(typeof s.description === "string" ? { description: s.description } : {}),
  }));
}

/** The header of a route whose spec says `idempotent` (core/platform/idempotency). */
const idempotencyKeyParameter: Json = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", minLength: 1, maxLength: 255 },
  description:
    "Makes the request safe to retry (Stripe's semantics): the same key with the same body answers the first " +
    "reply again (same status and body, header `Idempotent-Replayed: true`) without doing anything twice; the " +
    "same key with another body is 409 `idempotency.key_reused`. Keys are per tenant and kept 24 hours " +
    "(SKILL_IDEMPOTENCY_TTL_H). A request that fails (4xx) stores nothing: it may be sent again with its key.",
};

const errorRef = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
});

async function operation(route: HttpRoute, schemas: Json): Promise<Json> {
  const mod = (await import(pathToFileURL(resolve(handlerFile(route.handler))).href)) as { handler?: HttpHandler };
  const spec = mod.handler?.spec;
  if (!spec) throw new Error(`${route.method} ${route.path}: ${route.handler} does not export an httpHandler`);
  const status = String(spec.status ?? 200);
  const responses: Json = {
    [status]: {
      description: spec.description ?? "Success",
      ...(spec.response
        ? { content: { "application/json": { schema: strip(jsonSchema(spec.response, "output")) } } }
        : {}),
    },
  };
  // Every route refuses NUL characters in a header or query parameter, so every route may answer 400.
  responses["400"] = errorRef(
    "Invalid input: every bad field is listed in details.fields (a NUL character or an unpaired surrogate " +
      "in any text, JSON nested deeper than 64 levels and malformed JSON included)",
  );
  if (route.role !== "public") {
    responses["401"] = errorRef("Missing, invalid, revoked or expired API key");
    responses["403"] = errorRef(`The key's role is below ${route.role}, or the resource belongs to another tenant`);
  }
  if (spec.path) responses["404"] = errorRef("Not found (also for another tenant's resource)");
  // An admin key names a tenant by slug or id: one that does not exist is a 404.
  const names = (s: $ZodType | undefined) =>
    Object.keys(s ? ((jsonSchema(s, "input") as { properties?: Json }).properties ?? {}) : {});
  if (!responses["404"] && [...names(spec.query), ...names(spec.body)].some((n) => n === "tenant" || n === "tenant_id"))
    responses["404"] = errorRef("tenancy.tenant_not_found: the tenant named (by an admin key) does not exist");
  for (const [code, { name }] of Object.entries(commonResponses))
    responses[code] = { $ref: `#/components/responses/${name}` };
  for (const [code, meaning] of Object.entries(spec.errors ?? {})) responses[code] = errorRef(meaning);
  const op: Json = {
    operationId: route.handler
      .replace(/^functions\/http\//, "")
      .replace(/\.handler$/, "")
      .replace(/\//g, "."),
    summary: route.summary,
    tags: [route.tag],
    ...(route.role === "public" ? { security: [] } : { "x-aos-role": route.role }),
    parameters: [
      ...parameters("path", spec.path),
      ...parameters("query", spec.query),
      ...(spec.idempotent ? [idempotencyKeyParameter] : []),
    ],
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: strip(jsonSchema(spec.body, "input")) } },
          },
        }
      : {}),
    responses,
  };
  refinements[route.handler]?.(op, schemas);
  return op;
}

/** Routes of the table that a description does not document. */
export function undocumented(doc: Json, table: readonly HttpRoute[] = routes): string[] {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, unknown>>;
  return table.filter((r) => !paths[r.path]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
}

const DESCRIPTION =
  "Control plane for AI agents. Authenticate with `Authorization: Bearer aos_...`. Errors share one envelope, " +
  '`{"error":{"code","message","details","requestId"}}`; a 400 lists every bad field in `details.fields`. ' +
  "Limits: bodies up to 10 MB, JSON nested at most 64 levels, request line and headers up to 16 KB, no NUL " +
  "character or unpaired surrogate in any text.\n\n## Error codes\n\n";

export async function buildOpenApi(table: readonly HttpRoute[] = routes): Promise<Json> {
  const paths: Record<string, Json> = {};
  const schemas: Json = { ErrorEnvelope: strip(jsonSchema(ErrorEnvelope, "output")) };
  for (const route of table) {
    paths[route.path] ??= {};
    (paths[route.path] as Json)[route.method.toLowerCase()] = await operation(route, schemas);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "AOS API",
      version: "1",
      description: DESCRIPTION + errorCodesTable(await scanErrorCodes()),
    },
    servers: [{ url: "http://127.0.0.1:3000", description: "npm start" }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "aos_<32 chars>" } },
      schemas,
      responses: Object.fromEntries(Object.values(commonResponses).map((r) => [r.name, errorRef(r.description)])),
    },
  };
}

export const renderOpenApi = async (): Promise<string> => `${JSON.stringify(await buildOpenApi(), null, 2)}\n`;
