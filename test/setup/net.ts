/** Network helpers for tests that need a dependency to be unreachable. */

import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

/** A loopback port nothing listens on (bound, read, closed): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
