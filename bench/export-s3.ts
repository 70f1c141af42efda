/**
 * s3rver for `npm run bench:export`, in a process of its own so its memory and CPU are not the
 * exporter's: `export-s3.ts <dir> <bucket>` serves on 127.0.0.1:<any port>, prints
 * {"endpoint"} on stdout once ready, and stops on SIGTERM.
 */
import { startS3 } from "../local/emulators.ts";

const [dir, bucket] = process.argv.slice(2) as [string, string];
const s3 = await startS3({ bucket, s3Dir: dir, port: 0 });
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);
process.once("SIGTERM", () => {
  void s3.stop().then(() => process.exit(0));
});
