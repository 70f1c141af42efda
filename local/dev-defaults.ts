/**
 * What `npm start` sets so every skill works on a fresh machine, and only there:
 * - WEBHOOK_SIGNING_SECRET, when the environment has none: generated once and kept in
 *   `<AOS_DATA_DIR>/webhook-signing-secret` (mode 0600), so receivers keep verifying across
 *   restarts. A deployment sets its own (`sst secret set WebhookSigningSecret ...`).
 * - SKILL_OUTBOUND_ALLOW_HOSTS, when it lists no host: the loopback names, so
 *   `webhook_send` can reach a receiver on this machine. Deployed stages allow no private host
 *   unless they list it.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOOPBACK_HOSTS = "127.0.0.1,localhost,::1";

export interface DevDefaults {
  env: NodeJS.ProcessEnv;
  /** Lines for the start-up banner. */
  notes: string[];
}

/** What the configuration says now: a signing secret, and the hosts outbound skills may reach. */
export interface Current {
  signingSecret: string | undefined;
  allowHosts: readonly string[];
}

export function devDefaults(dataDir: string, current: Current): DevDefaults {
  const out: NodeJS.ProcessEnv = {};
  const notes: string[] = [];
  if (!current.signingSecret) {
    const file = join(dataDir, "webhook-signing-secret");
    let secret = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    if (secret.length < 32) {
      mkdirSync(dataDir, { recursive: true });
      secret = randomBytes(32).toString("hex");
      writeFileSync(file, `${secret}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    out.WEBHOOK_SIGNING_SECRET = secret;
    notes.push(
      `webhooks  signing master secret in ${file} (dev only; a tenant's secret: GET /api/v1/webhooks/signing_secret)`,
    );
  }
  if (current.allowHosts.length === 0) {
    out.SKILL_OUTBOUND_ALLOW_HOSTS = LOOPBACK_HOSTS;
    notes.push(`outbound  skills may call loopback hosts (${LOOPBACK_HOSTS}): local only`);
  }
  return { env: out, notes };
}
