import * as z from "zod/mini";
import * as Tenancy from "../../core/tenancy/index.ts";
import { KeyCreate } from "../../core/tenancy/index.ts";
import { asSystem } from "../context.ts";
import type { CommandSpec } from "../main.ts";

export const commands: CommandSpec[] = [
  {
    name: "keys create",
    usage: "keys create --tenant T --role R [--name N] [--expires-in-days D]",
    summary: "Mint an API key for a tenant (by slug or id); the key is printed once",
    options: {
      tenant: { type: "string", description: "tenant slug or id" },
      role: { type: "string", description: "admin | operator | agent | viewer" },
      name: { type: "string", description: "a label for the key" },
      "expires-in-days": { type: "string", description: "expire the key after D days" },
    },
    run: ({ values }) =>
      asSystem(async () => {
        if (typeof values.tenant !== "string") throw new Error("--tenant is required");
        const days = values["expires-in-days"];
        // The API's own schema, so the CLI refuses exactly what POST /api/v1/keys refuses.
        const input = z.parse(KeyCreate, {
          role: values.role,
          name: values.name ?? "",
          ...(days === undefined ? {} : { expires_in_days: Number(days) }),
        });
        const tenantId = await Tenancy.resolveTenant(values.tenant);
        const k = await Tenancy.createKeyFor(tenantId, input);
        console.log(`${k.role} key for ${values.tenant} (shown once): ${k.key}`);
        return 0;
      }),
  },
  {
    name: "keys list",
    usage: "keys list --tenant T [--all]",
    summary: "List a tenant's API keys (prefix, role, name, last use; never the keys)",
    options: {
      tenant: { type: "string", description: "tenant slug or id" },
      all: { type: "boolean", description: "include revoked keys" },
    },
    run: ({ values }) =>
      asSystem(async () => {
        if (typeof values.tenant !== "string") throw new Error("--tenant is required");
        let cursor: string | undefined;
        do {
          const page = await Tenancy.listKeys({
            tenant: values.tenant,
            include_revoked: values.all === true,
            limit: 500,
            cursor,
          });
          for (const k of page.data) {
            const used = k.last_used_at ? `used ${k.last_used_at.toISOString()}` : "never used";
            const state = k.revoked_at ? "revoked" : "active";
            console.log(`${k.prefix}  ${k.role.padEnd(8)} ${state.padEnd(7)} ${used}  ${k.name}  ${k.id}`);
          }
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        return 0;
      }),
  },
  {
    name: "keys revoke",
    usage: "keys revoke <key id>",
    summary: "Revoke an API key",
    run: ({ positionals }) =>
      asSystem(async () => {
        const id = positionals[0];
        if (!id) throw new Error("key id required");
        const k = await Tenancy.revokeKey(id);
        console.log(`revoked ${k.prefix} (${k.id})`);
        return 0;
      }),
  },
];
