import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { AppEnv } from "../../src/core/app-env";
import { addressBucket, clientIp } from "../../src/core/client-ip";

/** The address the limits count, as a route sees it for a given X-Forwarded-For and TRUST_PROXY. */
async function seen(hops: number, xff?: string): Promise<string | null> {
  const app = new Hono<AppEnv>().get("/", (c) => c.json({ ip: clientIp(c, hops) }));
  const res = await app.request("/", { headers: xff ? { "x-forwarded-for": xff } : {} });
  return ((await res.json()) as { ip: string | null }).ip;
}

describe("clientIp", () => {
  test("TRUST_PROXY=0: X-Forwarded-For is ignored (no socket in app.request: no address)", async () => {
    expect(await seen(0, "203.0.113.9")).toBeNull();
  });

  test("N trusted hops: the N-th entry from the right, whatever the client prepended", async () => {
    expect(await seen(1, "203.0.113.9")).toBe("203.0.113.9");
    expect(await seen(1, "1.2.3.4, 6.6.6.6, 203.0.113.9")).toBe("203.0.113.9");
    expect(await seen(2, "1.2.3.4, 203.0.113.9, 10.0.0.2")).toBe("203.0.113.9");
    // Fewer entries than proxies: the farthest known.
    expect(await seen(3, "203.0.113.9, 10.0.0.2")).toBe("203.0.113.9");
  });

  test("IPv4-mapped IPv6 is the IPv4 client; an oversized entry is not an address", async () => {
    expect(await seen(1, "::FFFF:203.0.113.9")).toBe("203.0.113.9");
    expect(await seen(1, "x".repeat(100))).toBeNull();
  });
});

describe("addressBucket", () => {
  test("IPv4 as is; IPv6 by /64, whatever the spelling", () => {
    expect(addressBucket("203.0.113.9")).toBe("203.0.113.9");
    expect(addressBucket("2001:db8:0:1::42")).toBe("2001:db8:0:1::/64");
    expect(addressBucket("2001:0db8:0000:0001:ffff::1")).toBe("2001:db8:0:1::/64");
    expect(addressBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBucket("::1")).toBe("0:0:0:0::/64");
  });
});
