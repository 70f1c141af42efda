/**
 * The platform's own tenant (migration 0004): owner of what no customer tenant owns, such as the
 * breakers of shared targets (Slack, Voyage), whose transitions are recorded under it.
 */
export const SYSTEM_TENANT_ID = "00000000-0000-0000-0000-000000000000";
