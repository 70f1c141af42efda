/**
 * The real `aos` CLI (bin/aos.js) as a child process, configured as the calling test file is
 * (its database, Redis and stage; logs silent), plus `env` (AOS_URL, AOS_KEY, ...). Never
 * rejects: a non-zero exit is in `code`.
 *
 * @example
 *   const r = await runAos(["workflows", "list"], { AOS_URL: api.url, AOS_KEY: key });
 */
import { execFile } from "node:child_process";
import { config } from "../../core/config.ts";

export interface AosRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runAos(args: readonly string[], env: Record<string, string> = {}): Promise<AosRun> {
  const c = config();
  return new Promise((resolve) => {
    execFile(
      "node",
      ["bin/aos.js", ...args],
      {
        env: {
          ...process.env,
          DATABASE_URL: c.databaseUrl,
          REDIS_URL: c.redisUrl,
          STAGE: c.stage,
          LOG_LEVEL: "silent",
          ...env,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}
