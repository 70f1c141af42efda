import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from "../errors.ts";

export class InvalidKeyError extends UnauthorizedError {
  override name = "InvalidKeyError";
  constructor() {
    super("auth.invalid_key", "The API key is not valid");
  }
}

export class RevokedKeyError extends UnauthorizedError {
  override name = "RevokedKeyError";
  constructor() {
    super("auth.key_revoked", "The API key was revoked");
  }
}

export class ExpiredKeyError extends UnauthorizedError {
  override name = "ExpiredKeyError";
  constructor() {
    super("auth.key_expired", "The API key has expired");
  }
}

export class TenantSuspendedError extends ForbiddenError {
  override name = "TenantSuspendedError";
  constructor() {
    super("The key's tenant is suspended", "tenancy.tenant_suspended");
  }
}

export class TenantExistsError extends ConflictError {
  override name = "TenantExistsError";
  constructor(slug: string) {
    super("tenancy.tenant_exists", `A tenant with slug "${slug}" already exists`);
  }
}

export class TenantNotFoundError extends NotFoundError {
  override name = "TenantNotFoundError";
  constructor(ref: string) {
    super("Tenant", ref, "tenancy.tenant_not_found");
  }
}

export class KeyNotFoundError extends NotFoundError {
  override name = "KeyNotFoundError";
  constructor(id: string) {
    super("API key", id, "tenancy.key_not_found");
  }
}

export class RoleNotGrantableError extends ForbiddenError {
  override name = "RoleNotGrantableError";
  constructor(role: string) {
    super(`Only an admin key may create a key with the ${role} role`, "tenancy.role_not_grantable");
  }
}
