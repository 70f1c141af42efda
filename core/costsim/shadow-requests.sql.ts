/**
 * SQL of the shadow path's requests (migration 0025): a V1 simulate with the sandbox on writes
 * one; the CostsimShadow worker reads it and deletes it once its comparison is recorded. Every
 * statement names the tenant (`$1`).
 */

/** $1 tenant, $2 the request (ShadowMessage JSON). */
export const insertRequest = `insert into costsim_shadow_requests (tenant_id, request) values ($1, CAST($2 AS jsonb))`;

/** $1 tenant, $2 id: the request, or no row (done with already). */
export const getRequest = `select request from costsim_shadow_requests where tenant_id = $1 and id = $2`;

/** $1 tenant, $2 id. */
export const deleteRequest = `delete from costsim_shadow_requests where tenant_id = $1 and id = $2`;
