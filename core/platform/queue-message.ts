/**
 * Queue message bodies AOS sends: camelCase keys, the tenant they concern (`tenantId`) and a
 * version (`v: 1`). A body without `v` is version 0, the shape sent before issue 13; consumers
 * accept it for one release, so messages still in a queue during the deploy are not poison
 * (docs/decisions/0010-outbox.md). Drop the v0 path in the release after.
 */
import * as z from "zod/mini";
import type { $ZodType } from "zod/v4/core";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `v1`, also accepting version 0: a body without `v` is upgraded (by default: the same keys with
 * `v: 1`) and then checked against `v1`.
 *
 * @example
 *   export const ExportMessageIn = acceptV0(ExportMessage);
 */
export function acceptV0<S extends $ZodType>(
  v1: S,
  upgrade: (v0: Record<string, unknown>) => unknown = (b) => ({ ...b, v: 1 }),
): z.ZodMiniPipe<z.ZodMiniTransform<unknown, unknown>, S> {
  return z.pipe(
    z.transform((body: unknown) => (isRecord(body) && !("v" in body) ? upgrade(body) : body)),
    v1,
  );
}
