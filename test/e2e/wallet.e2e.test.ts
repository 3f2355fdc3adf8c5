import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Server } from "bun";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD, loginAdmin } from "../support/users";

/**
 * The wallet page in Debian's chromium against the whole app on a real HTTP port: a deposit
 * approved in the admin's browser shows up on the user's page without a reload, and the page
 * gets itself back on the stream after the server restarts.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = resolve(import.meta.dir, "../artifacts");
const MISSING_CHROMIUM = `Debian chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does). This test is never skipped.`;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Polls until `read()` satisfies `ok`; fails with the last value seen. Returns elapsed ms. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return performance.now() - started;
    if (performance.now() - started > timeoutMs)
      throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await Bun.sleep(20);
  }
}

const text = (page: Page, testId: string) => page.getByTestId(testId).innerText();
const attr = (page: Page, testId: string, name: string) =>
  page.getByTestId(testId).getAttribute(name);

describe("wallet page in a real browser (e2e)", () => {
  let redis: RedisHarness;
  let mongo: MongoWireServer;
  let dbName: string | undefined;
  let stack: TestStack | undefined;
  let server: Server<undefined> | undefined;
  let port = 0;
  let base = "";
  const profiles: string[] = [];
  const contexts: BrowserContext[] = [];
  let user: Page;
  let admin: Page;
  let userNavigations = 0;
  let userEmail = "";
  let phase1Done = false;

  async function startApp(): Promise<void> {
    stack = await createTestStack({ redis, mongo, dbName, env: ADMIN_ENV });
    dbName = stack.dbName;
    serve();
  }
  function serve(): void {
    // Port 0 the first time, then the same port again: the browsers keep their URLs.
    server = Bun.serve({
      port,
      hostname: "127.0.0.1",
      fetch: (req, srv) => stack!.app.fetch(req, srv),
      idleTimeout: 0,
    });
    port = server.port as number;
    base = `http://127.0.0.1:${port}`;
  }
  async function stopApp(): Promise<void> {
    // Forced: open SSE streams would otherwise keep a graceful stop waiting forever.
    await server?.stop(true);
    server = undefined;
    await stack?.close();
    stack = undefined;
  }

  /** Each user gets their own browser with a fresh profile directory: no shared cookies or storage. */
  async function openBrowser(name: string): Promise<Page> {
    const dir = mkdtempSync(join(tmpdir(), `cs-e2e-${name}-`));
    profiles.push(dir);
    const ctx = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      args: ARGS,
      headless: true,
      locale: "en-US",
      timezoneId: "UTC",
      viewport: { width: 1100, height: 900 },
    });
    contexts.push(ctx);
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (err) => console.error(`[${name} page error]`, err));
    return page;
  }

  async function signIn(page: Page, email: string, password: string): Promise<void> {
    await page.getByTestId("login-email").fill(email);
    await page.getByTestId("login-password").fill(password);
    await page.getByTestId("login-submit").click();
    await page.getByTestId("app-view").waitFor({ state: "visible" });
  }

  const waitLive = (page: Page, timeoutMs = 10_000) =>
    until(
      "stream live",
      () => attr(page, "live-status", "data-state"),
      (s) => s === "live",
      timeoutMs,
    );

  async function requestDeposit(amount: string, sender: string): Promise<string> {
    await user.getByTestId("deposit-amount").fill(amount);
    await user.getByTestId("deposit-sender").fill(sender);
    await user.getByTestId("deposit-submit").click();
    const item = user.getByTestId("request-item").filter({ hasText: "pending" }).first();
    await item.waitFor();
    return (await item.getAttribute("data-id")) as string;
  }

  /** The admin pays deposits out of their own wallet (SPEC §5): give them a float to pay from. */
  async function fundAdmin(minor: number): Promise<void> {
    const token = await loginAdmin(stack!);
    const me = (await (await stack!.call("GET", "/api/v1/users/me", { token })).json()) as {
      data: { user: { id: string } };
    };
    await stack!.ctx.use("cacheSync").updateBalanceWithSync(me.data.user.id, minor, "e2e float", {
      opId: `e2e-float:${Date.now()}`,
    });
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [redis, mongo] = await Promise.all([startRedis(), startMongoWire()]);
    await startApp();
  });

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await stopApp().catch(() => {});
    await Promise.allSettled([mongo?.close(), redis?.stop()]);
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
  });

  test("Debian chromium is installed", () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
  });

  test("an approved deposit appears on the user's open page within 1 s, without a reload", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);

    // User: register in their own browser.
    user = await openBrowser("user");
    user.on("framenavigated", (frame) => {
      if (frame === user.mainFrame()) userNavigations++;
    });
    await user.goto(base);
    userEmail = `e2e${Date.now().toString(36)}@example.test`;
    await user.getByTestId("register-email").fill(userEmail);
    await user.getByTestId("register-username").fill(`e2e_${Date.now().toString(36)}`);
    await user.getByTestId("register-password").fill("password-123");
    await user.getByTestId("register-submit").click();
    await user.getByTestId("app-view").waitFor({ state: "visible" });
    await until(
      "initial balance",
      () => text(user, "balance"),
      (t) => t === "$0.00",
      5000,
    );
    await waitLive(user);
    // A reload or navigation would wipe this; it must still be there at the end.
    await user.evaluate(
      () => ((window as unknown as { __e2eMarker: string }).__e2eMarker = "still-here"),
    );
    const navigationsBefore = userNavigations;

    const depositId = await requestDeposit("25.00", "Alice Example");
    await user.screenshot({ path: join(ARTIFACTS, "e2e-user-before.png"), fullPage: true });

    // Admin: a second browser, sees the pending deposit.
    await fundAdmin(1_000_000);
    admin = await openBrowser("admin");
    await admin.goto(base);
    await signIn(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
    await admin.getByTestId("admin-view").waitFor({ state: "visible" });
    const row = admin.locator(`[data-testid="pending-deposit"][data-id="${depositId}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain("$25.00");
    expect(await row.innerText()).toContain("Alice Example");
    await until(
      "cache stats shown",
      () => text(admin, "cache-stats"),
      (t) => t.includes("User keys"),
      5000,
    );
    // The consistency observatory's chart: one bar per re-check bound (docs/OBSERVATORY.md).
    await admin.getByTestId("consistency-chart").waitFor({ state: "visible" });
    expect(await admin.getByTestId("consistency-bar").count()).toBe(3);
    await admin.screenshot({ path: join(ARTIFACTS, "e2e-admin-pending.png"), fullPage: true });

    await row.getByRole("button", { name: /^Approve deposit/ }).click();
    const elapsed = await until(
      "user balance after approval",
      () => text(user, "balance"),
      (t) => t === "$25.00",
      1000,
    );
    console.log(`e2e: balance on the user's page ${Math.round(elapsed)} ms after the click`);

    expect(await attr(user, "balance", "data-minor")).toBe("2500");
    await until(
      "event listed",
      () => text(user, "event-list"),
      (t) => t.includes(`deposit approval #${depositId}`),
      2000,
    );
    await until(
      "request approved",
      () =>
        user
          .locator(`[data-testid="request-item"][data-id="${depositId}"]`)
          .getAttribute("data-status"),
      (s) => s === "approved",
      3000,
    );
    await until(
      "admin list emptied",
      () => admin.locator(`[data-testid="pending-deposit"][data-id="${depositId}"]`).count(),
      (n) => n === 0,
      3000,
    );
    expect(
      await user.evaluate(() => (window as unknown as { __e2eMarker?: string }).__e2eMarker),
    ).toBe("still-here");
    expect(userNavigations).toBe(navigationsBefore);
    await user.screenshot({ path: join(ARTIFACTS, "e2e-user-after.png"), fullPage: true });
    phase1Done = true;
  }, 60_000);

  test("after a server restart the page reconnects by itself, replays what it missed and stays live", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
    if (!phase1Done) throw new Error("the previous scenario step failed; nothing to restart");
    const navigationsBefore = userNavigations;
    const secondId = await requestDeposit("10.50", "Alice Again");
    const reconnectsBefore = Number(await attr(user, "live-status", "data-reconnects"));

    // Down: the instance closes (its streams end with `event: close`), and a stand-in answers 503
    // on the same port, as a load balancer would during a deploy. That refusal closes the
    // EventSource for good, so only the page's own reconnect (fresh ticket + lastEventId) can
    // bring it back.
    await stopApp();
    const maintenance = Bun.serve({
      port,
      hostname: "127.0.0.1",
      fetch: () =>
        Response.json(
          { success: false, error: { code: "UNAVAILABLE", message: "Restarting" } },
          { status: 503 },
        ),
    });
    try {
      await until(
        "page notices the outage",
        () => attr(user, "live-status", "data-state"),
        (s) => s === "connecting",
        10_000,
      );
      await until(
        "page starts its own reconnect",
        () => attr(user, "live-status", "data-reconnects"),
        (n) => Number(n) > reconnectsBefore,
        15_000,
      );
    } finally {
      await maintenance.stop(true);
    }

    // A new instance on the same MongoDB, Redis and port. Before it serves, the admin approves the
    // second deposit: an event the page can only learn of through replay.
    stack = await createTestStack({ redis, mongo, dbName, env: ADMIN_ENV });
    const adminToken = await loginAdmin(stack);
    const approved = await stack.call("PUT", `/api/v1/deposits/${secondId}/approve`, {
      token: adminToken,
      body: {},
    });
    expect(approved.status).toBe(200);
    // Read-your-writes (SPEC §8): the page's read of the account on the new instance presents
    // the newest version it has shown, so no cache there can answer with an older one.
    const meRead = user.waitForRequest((r) => r.url().endsWith("/api/v1/users/me"), {
      timeout: 15_000,
    });
    serve();

    const back = await until(
      "balance after restart",
      () => text(user, "balance"),
      (t) => t === "$35.50",
      15_000,
    );
    expect(Number((await meRead).headers()["x-min-version"])).toBeGreaterThan(1);
    console.log(
      `e2e: page caught up ${Math.round(back)} ms after the new instance started serving`,
    );
    await waitLive(user);
    await until(
      "missed event replayed",
      () => text(user, "event-list"),
      (t) => t.includes(`deposit approval #${secondId}`),
      5000,
    );

    // Live again end to end: a third deposit requested on the page, approved in the admin's browser.
    const thirdId = await requestDeposit("1.00", "Alice Third");
    await waitLive(admin);
    await admin.getByTestId("admin-refresh").click();
    const row = admin.locator(`[data-testid="pending-deposit"][data-id="${thirdId}"]`);
    await row.getByRole("button", { name: /^Approve deposit/ }).click();
    const live = await until(
      "balance after a post-restart approval",
      () => text(user, "balance"),
      (t) => t === "$36.50",
      3000,
    );
    console.log(`e2e: post-restart approval on the user's page after ${Math.round(live)} ms`);

    expect(await attr(user, "balance", "data-minor")).toBe("3650");
    expect(
      await user.evaluate(() => (window as unknown as { __e2eMarker?: string }).__e2eMarker),
    ).toBe("still-here");
    expect(userNavigations).toBe(navigationsBefore);
    const ledger = (await (
      await stack.call("GET", "/api/v1/wallet/ledger", { token: await userToken() })
    ).json()) as {
      data: { items: { amount: number }[] };
    };
    expect(ledger.data.items.reduce((s, e) => s + e.amount, 0)).toBe(3650);
    await user.screenshot({ path: join(ARTIFACTS, "e2e-user-after-restart.png"), fullPage: true });
    await user.setViewportSize({ width: 375, height: 812 });
    await user.screenshot({ path: join(ARTIFACTS, "e2e-user-375.png"), fullPage: true });
    // Readable at 375 px: nothing wider than the viewport.
    expect(await user.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      375,
    );
  }, 60_000);

  async function userToken(): Promise<string> {
    const res = await stack!.call("POST", "/api/v1/auth/login", {
      body: { email: userEmail, password: "password-123" },
    });
    return ((await res.json()) as { data: { token: string } }).data.token;
  }
});
