/**
 * The `dev` tenant of a local AOS, and its admin key.
 *
 * Only a key's hash is stored, so the key `npm start` printed cannot be shown again from the
 * database; yet the one moment a developer needs a key is right after `npm start`. So the key it
 * mints is kept in the data dir (`<AOS_DATA_DIR>/dev-admin-key`, mode 0600, as a private Postgres
 * keeps its data there) and shown again on every start while it still authenticates as an admin
 * of `dev`. A new one is minted only when there is none, or the one kept no longer works
 * (revoked, expired, another database): restarts no longer pile up never-expiring admin keys.
 * Keys minted here are named "npm start", so `aos keys list --tenant dev` shows where they came from.
 * A new dev tenant gets DEV_CREDITS credits, so a first skill call or job is not refused with 402.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { withContext } from "../core/context.ts";
import * as Credits from "../core/credits/index.ts";
import { AppError } from "../core/errors.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { TenantExistsError, TenantNotFoundError } from "../core/tenancy/index.ts";

export const DEV_TENANT = { slug: "dev", name: "Local development" } as const;
export const DEV_KEY_FILE = "dev-admin-key";
/** Granted once, when `npm start` creates the dev tenant: skill calls and jobs cost credits. */
export const DEV_CREDITS = 1000;

export interface SeedResult {
  tenantId: string;
  /** True when this start created the tenant. */
  created: boolean;
  /** The dev tenant's admin key. */
  key: string;
  /** True when the key was minted by this start; false when the one kept in the data dir was reused. */
  minted: boolean;
  /** Where the key is kept. */
  keyFile: string;
}

/** The kept key, if it still authenticates as an admin of `tenantId`. */
async function keptKey(file: string, tenantId: string): Promise<string | undefined> {
  let key: string;
  try {
    key = (await readFile(file, "utf8")).trim();
  } catch {
    return undefined;
  }
  try {
    const actor = await Tenancy.authenticate(key);
    return actor.tenantId === tenantId && actor.role === "admin" ? key : undefined;
  } catch (e) {
    // Not valid here (revoked, expired, minted against another database): mint another.
    if (e instanceof AppError && e.status < 500) return undefined;
    throw e;
  }
}

async function keep(file: string, key: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${key}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export async function seedDevTenant(dataDir: string): Promise<SeedResult> {
  const id = randomUUID();
  const keyFile = join(dataDir, DEV_KEY_FILE);
  return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "npm-start" } }, async () => {
    let created = false;
    let tenantId: string;
    try {
      tenantId = (await Tenancy.findTenant(DEV_TENANT.slug)).id;
    } catch (e) {
      if (!(e instanceof TenantNotFoundError)) throw e;
      try {
        tenantId = (await Tenancy.createTenant({ ...DEV_TENANT, initial_key_role: "none" })).id;
        created = true;
        await Credits.grant({
          tenant_id: tenantId,
          amount: DEV_CREDITS,
          reason: "npm start: the dev tenant's credits",
        });
      } catch (e2) {
        // A second `aos dev` on the same database created it a moment ago.
        if (!(e2 instanceof TenantExistsError)) throw e2;
        tenantId = (await Tenancy.findTenant(DEV_TENANT.slug)).id;
      }
    }
    const kept = await keptKey(keyFile, tenantId);
    if (kept) return { tenantId, created, key: kept, minted: false, keyFile };
    const { key } = await Tenancy.createKeyFor(tenantId, { role: "admin", name: "npm start" });
    await keep(keyFile, key);
    return { tenantId, created, key, minted: true, keyFile };
  });
}
