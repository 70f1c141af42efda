import * as Tenancy from "../../core/tenancy/index.ts";
import { TenantCreate } from "../../core/tenancy/index.ts";
import { asSystem } from "../context.ts";
import { UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";

export const commands: CommandSpec[] = [
  {
    name: "tenants create",
    usage: "tenants create <slug> [--name N] [--key-role operator|agent|viewer|none]",
    summary: "Create a tenant (and its first key, printed once)",
    options: {
      name: { type: "string", description: "display name (default: the slug)" },
      "key-role": { type: "string", description: "role of the first key", default: "operator" },
    },
    run: ({ values, positionals }) => {
      if (!positionals[0]) throw new UsageError("the new tenant's slug is required");
      return asSystem(async () => {
        const input = TenantCreate.parse({
          slug: positionals[0],
          name: values.name ?? positionals[0],
          initial_key_role: values["key-role"] ?? "operator",
        });
        const t = await Tenancy.createTenant(input);
        console.log(`tenant ${t.slug} ${t.id}`);
        if (t.key) console.log(`${t.key.role} key (shown once): ${t.key.key}`);
        return 0;
      });
    },
  },
  {
    name: "tenants list",
    usage: "tenants list",
    summary: "List tenants",
    run: () =>
      asSystem(async () => {
        let cursor: string | undefined;
        do {
          const page = await Tenancy.listTenants({ limit: 500, cursor });
          for (const t of page.data) console.log(`${t.slug.padEnd(24)} ${t.id}  ${t.status}`);
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        return 0;
      }),
  },
];
