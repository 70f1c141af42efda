/**
 * The table of every error code (docs/errors.md and the OpenAPI description) is read from the
 * error classes: a code added without regenerating it fails here, and the scanner is shown to find
 * codes built each way AOS builds them.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERRORS_DOC, renderErrorsDoc, scanErrorCodes } from "../../cli/error-codes.ts";
import { buildOpenApi } from "../../cli/openapi.ts";

describe("error codes", () => {
  it("the committed docs/errors.md is what the error classes generate (npm run openapi)", async () => {
    expect(readFileSync(ERRORS_DOC, "utf8"), `${ERRORS_DOC} is stale: run npm run openapi`).toBe(
      await renderErrorsDoc(),
    );
  });

  it("lists codes of every kind of origin with their statuses", async () => {
    const status = Object.fromEntries((await scanErrorCodes()).map((c) => [c.code, c.statuses]));
    expect(status).toMatchObject({
      "validation.invalid_input": [400],
      "auth.missing_key": [401],
      "credits.insufficient": [402],
      "tenancy.role_not_grantable": [403],
      "jobs.not_found": [404],
      method_not_allowed: [405],
      "tenancy.tenant_exists": [409],
      "status_history.export_expired": [410],
      payload_too_large: [413],
      "status_history.too_many_exports": [429],
      headers_too_large: [431],
      internal: [500],
      "skills.upstream_rejected": [502],
      "db.unavailable": [503],
      "db.statement_timeout": [504],
    });
  });

  it("finds a code however it is built: a subclass, a direct new, a helper, a rule table, a default", async () => {
    const codes = await scanErrorCodes({
      "core/errors.ts": readFileSync("core/errors.ts", "utf8"),
      "core/demo/errors.ts": `
        import { AppError, ConflictError, NotFoundError, UnavailableError } from "../errors.ts";
        export class DemoBusyError extends ConflictError {
          constructor(id: string) { super("demo.busy", \`Demo \${id} is busy\`); }
        }
        export class DemoMissingError extends NotFoundError {
          constructor(id: string) { super("Demo", id, "demo.missing"); }
        }
        export class DemoUpstreamError extends AppError {
          constructor(message: string, o: { code?: string } = {}) { super("bad_gateway", o.code ?? "demo.upstream", message); }
        }
        const GONE = "demo.gone";
        export const rules = { "1": { kind: "timeout", code: "demo.slow", message: "Too slow" } };
        function refuse(message: string, o: { code?: string }) {
          throw new DemoUpstreamError(message, { ...(o.code ? { code: o.code } : {}) });
        }
        export function f() {
          refuse("no", { code: "demo.refused" });
          throw new UnavailableError("demo.down", "Down");
          throw new AppError("gone", GONE, "Gone");
        }
      `,
    });
    const demo = codes.filter((c) => c.code.startsWith("demo."));
    expect(demo.map((c) => [c.code, c.statuses, c.message])).toEqual([
      ["demo.busy", [409], "Demo … is busy"],
      ["demo.down", [503], "Down"],
      ["demo.gone", [410], "Gone"],
      ["demo.missing", [404], "Demo … not found"],
      ["demo.refused", [502], "no"],
      ["demo.slow", [504], "Too slow"],
      ["demo.upstream", [502], ""],
    ]);
  });

  it("the OpenAPI description carries the same table", async () => {
    const doc = (await buildOpenApi()) as { info: { description: string } };
    for (const c of await scanErrorCodes()) expect(doc.info.description).toContain(`| \`${c.code}\` |`);
  });
});

describe("responses every operation declares", () => {
  it("400, 405, 413, 431, 500, 503 and 504 on every operation; 409 on tenant creation; /health's report", async () => {
    const doc = (await buildOpenApi()) as any;
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        for (const status of ["400", "405", "413", "431", "500", "503", "504"])
          expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
      }
    }
    expect(doc.components.responses.MethodNotAllowed.content["application/json"].schema.$ref).toBe(
      "#/components/schemas/ErrorEnvelope",
    );
    expect(doc.paths["/api/v1/tenants"].post.responses["409"].description).toContain("tenancy.tenant_exists");
    const health = doc.paths["/health"].get.responses;
    const schema = health["200"].content["application/json"].schema;
    expect(Object.keys(schema.properties)).toEqual(["status", "checks", "down", "breakers"]);
    expect(Object.keys(schema.properties.checks.properties)).toEqual(["postgres", "redis", "s3", "sqs"]);
    expect(health["503"].content["application/json"].schema).toEqual(schema);
  });
});
