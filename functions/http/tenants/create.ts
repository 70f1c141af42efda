import * as Tenancy from "../../../core/tenancy/index.ts";
import { TenantCreate, TenantCreated } from "../../../core/tenancy/index.ts";
import { created, httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler(
  {
    body: TenantCreate,
    response: TenantCreated,
    status: 201,
    errors: { 409: "tenancy.tenant_exists: a tenant with this slug already exists" },
  },
  async ({ body }) => created(await Tenancy.createTenant(body)),
);
