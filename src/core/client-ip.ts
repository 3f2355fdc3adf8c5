import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import type { AppEnv } from "./app-env";

/** Longer than any IPv6 text form: a forwarded "address" past this is garbage, not a client. */
const MAX_ADDRESS = 64;

/**
 * The client's address as the limits see it. With `trustedHops` = 0 it is the socket's peer:
 * `X-Forwarded-For` is whatever the client wrote. With N trusted proxies in front, each one
 * appended the address it received from, so the client is the N-th entry from the right; entries
 * further left were written by the client and are ignored. (Express's `trust proxy` = N reads it
 * the same way.) Null when there is no socket (`app.request()` in tests, embedding hosts).
 */
export function clientIp(c: Context<AppEnv>, trustedHops: number): string | null {
  if (trustedHops > 0) {
    const hops = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    // Fewer entries than proxies: the farthest one is the best we know (misconfigured chain).
    const entry = hops.length ? hops[Math.max(0, hops.length - trustedHops)] : undefined;
    if (entry && entry.length <= MAX_ADDRESS) return normalizeAddress(entry);
  }
  try {
    const address = getConnInfo(c).remote.address;
    return address ? normalizeAddress(address) : null;
  } catch {
    return null;
  }
}

/** `::ffff:1.2.3.4` is the IPv4 client 1.2.3.4; IPv6 is lower-cased. */
function normalizeAddress(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice("::ffff:".length) : a;
}

/**
 * The unit a per-address limit counts: an IPv4 address, or an IPv6 /64 (one subscriber usually
 * holds a whole /64, so counting single IPv6 addresses would let one client rotate forever).
 */
export function addressBucket(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const fill =
    tail === undefined ? [] : Array(Math.max(0, 8 - left.length - right.length)).fill("0");
  const groups = [...left, ...fill, ...right].slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  return `${groups.join(":")}::/64`;
}
