import { AppError } from "../../errors.ts";

const LAST_ERROR_MAX = 1000;

/**
 * What is kept of a failure in a breaker's last_error: its code and message, with every URL cut to
 * its origin (webhook URLs carry their secret in the path or query, and a URL may carry
 * credentials) and API keys masked; at most 1000 characters.
 */
export function describeError(e: unknown): string {
  const text =
    e instanceof AppError ? `${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s/?#"'<>]+)[^\s"'<>]*/gi, "$1$2")
    .replace(/aos_[A-Za-z0-9_-]{8,}/g, "aos_***")
    .slice(0, LAST_ERROR_MAX);
}
