/**
 * Scenarios of errors as Node and its libraries throw them, with no AOS code on them: what a
 * worker or a library hands to Failures.record when nothing wrapped it (the matcher's cause-chain,
 * message and similarity tiers meet these, not the exact code). Each is a real failing call:
 * fetch and raw sockets against the generator's servers, a DNS lookup of a `.invalid` name, a TLS
 * handshake with a plain HTTP port. The generator records them.
 */
import { lookup } from "node:dns/promises";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { pick, provoke, type Scenario, type ScenarioRun } from "./scenario.ts";

const port = (x: ScenarioRun) => Number(new URL(x.servers.http).port);

/** A socket's first error (or its refusal to connect), as an Error. */
const socketError = (open: (done: (e: Error) => void) => void): Promise<never> =>
  new Promise((_, reject) => open((e) => reject(e)));

export const rawScenarios: readonly Scenario[] = [
  {
    // undici's `TypeError: fetch failed`, the ECONNREFUSED under it (an AggregateError for dual-stack hosts).
    name: "raw.fetch_refused",
    label: "upstream.connection_refused",
    run: (x) => provoke(() => fetch(`http://127.0.0.1:${x.servers.closedPort}/in`, { method: "POST", body: "{}" })),
  },
  {
    name: "raw.fetch_timeout",
    label: "upstream.timeout",
    run: (x) => provoke(() => fetch(`${x.servers.http}/hang`, { signal: AbortSignal.timeout(40 + (x.n % 3) * 10) })),
  },
  {
    name: "raw.fetch_reset",
    label: "upstream.connection_refused",
    run: (x) => provoke(() => fetch(`${x.servers.http}/reset`)),
  },
  {
    name: "raw.socket_refused",
    label: "upstream.connection_refused",
    run: (x) => provoke(() => socketError((done) => connect(x.servers.closedPort, "127.0.0.1").on("error", done))),
  },
  {
    name: "raw.dns",
    label: "network.dns_not_found",
    run: (x) => provoke(() => lookup(pick([`aos-gen-${x.n}.invalid`, `api.aos-gen-${x.n}.example.invalid`], x.n))),
  },
  {
    name: "raw.tls",
    label: "network.tls_error",
    run: (x) =>
      provoke(() =>
        socketError((done) =>
          tlsConnect({ host: "127.0.0.1", port: port(x), servername: "hooks.example.com" }).on("error", done),
        ),
      ),
  },
];
