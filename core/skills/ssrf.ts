/**
 * The SSRF guard's address rules: which addresses a URL that came in a request may reach. Only
 * public unicast addresses pass; loopback, private, shared (CGNAT), link-local (cloud metadata at
 * 169.254.169.254 and fd00:ec2::254), documentation, benchmarking, multicast and reserved ranges
 * are refused, also when they hide inside IPv6 (IPv4-mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`). A hostname is refused if ANY of its addresses is, and the
 * caller connects to the checked addresses only (see outbound.ts), so a DNS answer that changes
 * between the check and the connect (rebinding) cannot reach an internal service.
 */
import type { LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { config } from "../config.ts";
import { UrlBlockedError } from "./errors.ts";

type Range = [address: string, prefix: number];

// One list per family and reason: node's BlockList matches IPv4 rules against IPv4-mapped IPv6
// (and back) inconsistently, so each family is checked only against its own rules and the
// embedded IPv4 of mapped/NAT64/6to4 addresses is extracted and checked explicitly below.
const v4Rules: [reason: string, ranges: Range[]][] = [
  ["an unspecified address", [["0.0.0.0", 8]]],
  ["a loopback address", [["127.0.0.0", 8]]],
  [
    "a private address",
    [
      ["10.0.0.0", 8],
      ["172.16.0.0", 12],
      ["192.168.0.0", 16],
      ["100.64.0.0", 10],
    ],
  ],
  ["a link-local address (cloud metadata)", [["169.254.0.0", 16]]],
  ["a multicast address", [["224.0.0.0", 4]]],
  [
    "a reserved address",
    [
      ["192.0.0.0", 24],
      ["192.0.2.0", 24],
      ["198.18.0.0", 15],
      ["198.51.100.0", 24],
      ["203.0.113.0", 24],
      ["240.0.0.0", 4],
      ["255.255.255.255", 32],
    ],
  ],
];

const v6Rules: [reason: string, ranges: Range[]][] = [
  ["an unspecified address", [["::", 128]]],
  ["a loopback address", [["::1", 128]]],
  ["a private address", [["fc00::", 7]]],
  ["a link-local address", [["fe80::", 10]]],
  ["a multicast address", [["ff00::", 8]]],
  [
    "a reserved address",
    [
      ["2001:db8::", 32],
      // IETF protocol assignments (Teredo, ORCHID, benchmarking): never a web host.
      ["2001::", 23],
    ],
  ],
];

const compile = (rules: [string, Range[]][], family: "ipv4" | "ipv6") =>
  rules.map(([reason, ranges]) => {
    const list = new BlockList();
    for (const [a, p] of ranges) list.addSubnet(a, p, family);
    return { reason, list };
  });
const v4 = compile(v4Rules, "ipv4");
const v6 = compile(v6Rules, "ipv6");
const globalUnicast = new BlockList();
globalUnicast.addSubnet("2000::", 3, "ipv6");

/** The 16 bytes of a valid IPv6 address (zone id dropped, a trailing dotted quad allowed). */
function ipv6Bytes(ip: string): number[] {
  let s = ip.split("%")[0] as string;
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = quad.slice(2).map(Number) as [number, number, number, number];
    s = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = s.split("::");
  const groups = (h: string | undefined) => (h ? h.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

const isPrefix = (bytes: number[], prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const NAT64 = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * Why a call to `ip` is refused ("a loopback address"), or undefined when it is public.
 *
 * @example
 *   blockedReason("169.254.169.254"); // "a link-local address (cloud metadata)"
 *   blockedReason("::ffff:10.0.0.1"); // "a private address"
 */
export function blockedReason(ip: string): string | undefined {
  const family = isIP(ip.split("%")[0] as string);
  if (family === 4) return v4.find((r) => r.list.check(ip, "ipv4"))?.reason;
  if (family !== 6) return "not an IP address";
  const bytes = ipv6Bytes(ip);
  const embedded = (at: number) => bytes.slice(at, at + 4).join(".");
  if (isPrefix(bytes, MAPPED) || isPrefix(bytes, NAT64)) return blockedReason(embedded(12));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) {
    const inner = blockedReason(embedded(2));
    if (inner) return inner;
  }
  const addr = ip.split("%")[0] as string;
  const hit = v6.find((r) => r.list.check(addr, "ipv6"));
  if (hit) return hit.reason;
  return globalUnicast.check(addr, "ipv6") ? undefined : "a reserved address";
}

/** A URL's hostname without IPv6 brackets, lower case. */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, "").toLowerCase();

/** SKILL_OUTBOUND_ALLOW_HOSTS names this host (`host`) or this host and port (`host:port`). */
export function isAllowListed(url: URL): boolean {
  const allow = config().skills.http.allowHosts;
  if (allow.length === 0) return false;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.toLowerCase();
  const candidates = [host, bareHost(url), `${host}:${port}`];
  return candidates.some((c) => allow.includes(c));
}

/**
 * The addresses a guarded URL may be connected to: the IP literal itself, or every address its
 * hostname resolves to, all of them public. Throws UrlBlockedError naming `field` otherwise
 * (the reason names the kind of address, never the URL, which may carry a secret).
 */
export async function resolvePublic(url: URL, field: string): Promise<LookupAddress[]> {
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UrlBlockedError(field, "only http and https URLs may be called");
  const host = bareHost(url);
  const family = isIP(host);
  const addresses: LookupAddress[] = family ? [{ address: host, family }] : await lookup(host, { all: true });
  if (addresses.length === 0) throw new UrlBlockedError(field, "the host has no address");
  for (const a of addresses) {
    const reason = blockedReason(a.address);
    if (reason) throw new UrlBlockedError(field, `the host ${family ? "is" : "resolves to"} ${reason}`);
  }
  return addresses;
}
