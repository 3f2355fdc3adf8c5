import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defaultPlugins } from "../../app/plugins";
import { authPlugin } from "../../plugins/features/auth";
import type { PasswordCost } from "../../plugins/features/auth/passwords";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";

/**
 * SPEC §8 on the API surface (in process): security headers, the /metrics token, bounded
 * validation errors, the body cap, the per-address SSE cap, and argon2 runs that a burst of
 * registrations cannot use to starve logins.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({
    stores: "memory",
    env: { TRUST_PROXY: 1, SSE_MAX_PER_IP: 2, METRICS_TOKEN: "metrics-token-for-tests" },
  });
});
afterAll(() => stack.close());

describe("security headers", () => {
  test("API responses: nosniff, frame-ancestors 'none', no referrer", async () => {
    for (const res of [
      await stack.call("GET", "/health"),
      await stack.call("GET", "/api/v1/users/me"),
      await stack.call("GET", "/openapi.json"),
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  test("the web page keeps its own stricter CSP; /docs still gets one that only forbids framing", async () => {
    const page = await stack.call("GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const docs = await stack.call("GET", "/docs");
    expect(docs.status).toBe(200);
    // Nothing that would block the reference page's own scripts and styles.
    expect(docs.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
  });
});

describe("/metrics", () => {
  test("METRICS_TOKEN set: 401 with the envelope without the bearer token or with a wrong one", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong-token" }] as Record<
      string,
      string
    >[]) {
      const res = await stack.call("GET", "/metrics", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
      expect(await res.json()).toMatchObject({ success: false, error: { code: "UNAUTHORIZED" } });
    }
    const ok = await stack.call("GET", "/metrics", {
      headers: { authorization: `Bearer ${stack.config.METRICS_TOKEN}` },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("# HELP");
  });

  test("open by default, as scrapers expect", async () => {
    const open = await createTestStack({ stores: "memory" });
    try {
      expect((await open.call("GET", "/metrics")).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("bounded bodies and errors", () => {
  test("a body over MAX_BODY_BYTES is 413 with the envelope", async () => {
    const res = await stack.call("POST", "/api/v1/auth/login", {
      body: JSON.stringify({ email: "a@b.co", password: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({
      success: false,
      error: { code: "PAYLOAD_TOO_LARGE" },
    });
  });

  test("a validation error never echoes the input and stays small", async () => {
    const marker = "ECHO".repeat(40_000); // a 160 kB key name
    const body: Record<string, string> = { [marker]: "v" };
    for (let i = 0; i < 3000; i++) body[`unexpected_${i}_${"k".repeat(100)}`] = "v";
    const raw = JSON.stringify(body);
    expect(raw.length).toBeGreaterThan(400_000);
    const res = await stack.call("POST", "/api/v1/auth/register", { body: raw });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(4096);
    expect(text).not.toContain("ECHO".repeat(50));
    const json = JSON.parse(text) as { error: { code: string; details: unknown[] } };
    expect(json.error.code).toBe("VALIDATION_ERROR");
    expect(json.error.details.length).toBeLessThanOrEqual(11);
  });
});

describe("SSE streams per client address", () => {
  test("over SSE_MAX_PER_IP the new stream is 429; other addresses and freed slots are served", async () => {
    const users = await Promise.all([
      registerUser(stack),
      registerUser(stack),
      registerUser(stack),
    ]);
    const open = (token: string, ip: string) =>
      stack.call("GET", "/api/v1/events", { token, headers: { "x-forwarded-for": ip } });
    const first = await open(users[0].token, "203.0.113.50");
    const second = await open(users[1].token, "203.0.113.50");
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await open(users[2].token, "203.0.113.50");
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("30");
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe("SSE_LIMIT");
    const elsewhere = await open(users[2].token, "203.0.113.51");
    expect(elsewhere.status).toBe(200);
    // Closing a stream gives its slot back.
    await first.body?.cancel();
    let again = await open(users[2].token, "203.0.113.50");
    for (let i = 0; again.status === 429 && i < 40; i++) {
      await Bun.sleep(50);
      again = await open(users[2].token, "203.0.113.50");
    }
    expect(again.status).toBe(200);
    await Promise.all([second, elsewhere, again].map((r) => r.body?.cancel()));
  });
});

/** 16 MiB, 2 passes: each hash takes long enough for a queue to be seen, not so long the suite waits. */
const BURST_COST: PasswordCost = { memoryCost: 16_384, timeCost: 2 };

describe("argon2 under a registration burst", () => {
  /**
   * A burst of registrations at a real (if lighter than production) argon2 cost with a login
   * issued right after it:
   * the most hashes seen running at once, and how many were still queued when the login answered.
   */
  async function burstThenLogin(hashConcurrency: number) {
    const plugins = defaultPlugins().map((p) =>
      p.name === "auth" ? authPlugin({ passwordCost: BURST_COST }) : p,
    );
    const s = await createTestStack({
      stores: "memory",
      plugins,
      env: { PASSWORD_HASH_CONCURRENCY: hashConcurrency },
    });
    const jobs = async (state: "active" | "queued") => {
      const m = await s.ctx.metrics.registry.getSingleMetric("cachesync_password_jobs")?.get();
      return (
        m?.values.find((v) => v.labels.kind === "hash" && v.labels.state === state)?.value ?? 0
      );
    };
    try {
      const owner = await registerUser(s);
      let maxActive = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxActive = Math.max(maxActive, await jobs("active"));
          await Bun.sleep(2);
        }
      })();
      const registrations = Array.from({ length: 6 }, () => registerUser(s));
      const res = await s.call("POST", "/api/v1/auth/login", {
        body: { email: owner.email, password: owner.password },
      });
      const queuedAtLogin = await jobs("queued");
      expect(res.status).toBe(200);
      await Promise.all(registrations);
      sampling = false;
      await sampler;
      return { maxActive, queuedAtLogin };
    } finally {
      await s.close();
    }
  }

  test("hashes run at most PASSWORD_HASH_CONCURRENCY at once, and a login does not wait for the queue", async () => {
    const bounded = await burstThenLogin(1);
    expect(bounded.maxActive).toBe(1);
    expect(bounded.queuedAtLogin).toBeGreaterThan(0);
    // Control: unbounded, the whole burst hashes at once (and competes with the login for CPU).
    const unbounded = await burstThenLogin(64);
    expect(unbounded.maxActive).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
