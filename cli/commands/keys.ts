import * as z from "zod/mini";
import * as Tenancy from "../../core/tenancy/index.ts";
import { KeyCreate } from "../../core/tenancy/index.ts";
import { asSystem } from "../context.ts";
import { UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";

const tenantOption = { type: "string", description: "tenant slug or id" } as const;

export const commands: CommandSpec[] = [
  {
    name: "keys create",
    usage: "keys create --tenant T --role R [--global] [--name N] [--expires-in-days D]",
    summary:
      "Mint an API key for a tenant (by slug or id); the key is printed once. An admin key acts for every tenant: --role admin needs --global",
    options: {
      tenant: tenantOption,
      role: { type: "string", description: "admin | operator | agent | viewer" },
      global: {
        type: "boolean",
        description: "required with --role admin: say that you mean a key that acts for every tenant",
      },
      name: { type: "string", description: "a label for the key" },
      "expires-in-days": { type: "string", description: "expire the key after D days" },
    },
    run: ({ values }) => {
      if (typeof values.tenant !== "string") throw new UsageError("--tenant is required");
      if (values.role === "admin" && values.global !== true) {
        throw new UsageError(
          `--role admin makes a global key: it acts for every tenant, not only ${values.tenant}. Add --global if that is what you mean; --role operator manages one tenant`,
        );
      }
      if (values.global === true && values.role !== "admin") {
        throw new UsageError("--global applies to --role admin only (other roles act for their tenant alone)");
      }
      const days = values["expires-in-days"];
      // The API's own schema, so the CLI refuses exactly what POST /api/v1/keys refuses.
      const input = z.parse(KeyCreate, {
        role: values.role,
        name: values.name ?? "",
        ...(days === undefined ? {} : { expires_in_days: Number(days) }),
      });
      return asSystem(async () => {
        const tenantId = await Tenancy.resolveTenant(values.tenant as string);
        const k = await Tenancy.createKeyFor(tenantId, input);
        const scope = k.role === "admin" ? "global admin key (every tenant), kept in" : `${k.role} key for`;
        console.log(`${scope} ${values.tenant} (shown once): ${k.key}`);
        return 0;
      });
    },
  },
  {
    name: "keys list",
    usage: "keys list --tenant T [--all]",
    summary: "List a tenant's API keys (prefix, role, name, last use; never the keys)",
    options: {
      tenant: tenantOption,
      all: { type: "boolean", description: "include revoked keys" },
    },
    run: ({ values }) => {
      if (typeof values.tenant !== "string") throw new UsageError("--tenant is required");
      const tenant = values.tenant;
      return asSystem(async () => {
        let cursor: string | undefined;
        do {
          const page = await Tenancy.listKeys({ tenant, include_revoked: values.all === true, limit: 500, cursor });
          for (const k of page.data) {
            const used = k.last_used_at ? `used ${k.last_used_at.toISOString()}` : "never used";
            const state = k.revoked_at ? "revoked" : "active";
            console.log(`${k.prefix}  ${k.role.padEnd(8)} ${state.padEnd(7)} ${used}  ${k.name}  ${k.id}`);
          }
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        return 0;
      });
    },
  },
  {
    name: "keys revoke",
    usage: "keys revoke <key id> [--tenant T]",
    summary: "Revoke an API key (with --tenant, only if it is that tenant's)",
    options: { tenant: tenantOption },
    run: ({ positionals, values }) => {
      const id = positionals[0];
      if (!id) throw new UsageError("a key id is required (`aos keys list --tenant T` shows them)");
      const tenant = typeof values.tenant === "string" ? values.tenant : undefined;
      return asSystem(async () => {
        const k = await Tenancy.revokeKey(id, tenant);
        console.log(`revoked ${k.prefix} (${k.id})`);
        return 0;
      });
    },
  },
];
