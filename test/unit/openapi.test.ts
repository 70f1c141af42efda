import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildOpenApi, renderOpenApi, undocumented } from "../../cli/openapi.ts";
import { routeTable, withRouteTable } from "../../cli/readme-routes.ts";
import { routes } from "../../functions/routes.ts";

describe("OpenAPI description", () => {
  it("documents every route of routes.ts", async () => {
    const doc = await buildOpenApi();
    expect(undocumented(doc)).toEqual([]);
  });

  it("the committed docs/openapi.json is what the code generates (npm run openapi)", async () => {
    expect(readFileSync("docs/openapi.json", "utf8"), "docs/openapi.json is stale: run npm run openapi").toBe(
      await renderOpenApi(),
    );
  });

  it("README.md's route list is the one the OpenAPI document gives (npm run openapi)", async () => {
    const readme = readFileSync("README.md", "utf8");
    const doc = JSON.parse(await renderOpenApi());
    expect(readme, "README.md's route list is stale: run npm run openapi").toBe(withRouteTable(readme, doc));
    // One row per operation, each with the role it needs.
    const rows = routeTable(doc).split("\n").slice(2);
    expect(rows).toHaveLength(routes.length);
    expect(rows).toContain(
      "| POST | `/api/v1/jobs/{id}/claim` | agent | Claim pending items of an external job with a lease (FOR UPDATE SKIP LOCKED) |",
    );
  });

  it("names an undocumented route", async () => {
    const doc = await buildOpenApi(routes.filter((r) => r.path !== "/api/v1/keys/{id}"));
    expect(undocumented(doc)).toEqual(["DELETE /api/v1/keys/{id}"]);
  });

  it("fails for a route whose handler is not an httpHandler", async () => {
    const broken = { ...routes[0]!, path: "/broken", handler: "functions/_lib/errors.handler" };
    await expect(buildOpenApi([broken])).rejects.toThrow(/does not export an httpHandler/);
  });

  it("documents request bodies, parameters, roles and the error envelope", async () => {
    const doc = (await buildOpenApi()) as any;
    const create = doc.paths["/api/v1/keys"].post;
    expect(create.requestBody.content["application/json"].schema.properties.role.enum).toEqual([
      "admin",
      "operator",
      "agent",
      "viewer",
    ]);
    expect(create.responses["201"]).toBeDefined();
    expect(create.responses["400"].content["application/json"].schema.$ref).toBe("#/components/schemas/ErrorEnvelope");
    expect(create["x-aos-role"]).toBe("operator");
    expect(doc.paths["/api/v1/keys/{id}"].delete.parameters[0]).toMatchObject({
      name: "id",
      in: "path",
      required: true,
    });
    expect(doc.paths["/health"].get.security).toEqual([]);
  });
});
