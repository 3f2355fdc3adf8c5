import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ApiError,
  createCachesyncClient,
  subscribeUserEvents,
  type UserDataUpdated,
  unwrap,
} from "cachesync/client";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD } from "../support/users";
import { assertMoneyInvariants } from "../wallet/invariants";

/**
 * The main journey through `cachesync/client` (types generated from /openapi.json, requests by
 * openapi-fetch) against a server listening on a real port: register → login → profile →
 * deposit request → approval by an admin → ledger → the SSE event arrives, then a resume with
 * Last-Event-ID replays what was missed while disconnected.
 */

let stack: TestStack;
let server: ReturnType<typeof Bun.serve>;
let baseUrl: string;

beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV, ADMIN_INITIAL_BALANCE: 100_000 } });
  // idleTimeout 0 as in app/server.ts: SSE streams outlive Bun's 10 s default.
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: stack.app.fetch, idleTimeout: 0 });
  baseUrl = server.url.origin;
});
afterAll(async () => {
  await server?.stop(true);
  await stack?.close();
});

/** Collects events until `pred` holds (or fails after 10 s). */
function eventsUntil(list: UserDataUpdated[], pred: (e: UserDataUpdated) => boolean) {
  return new Promise<UserDataUpdated>((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const hit = list.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - started > 10_000)
        return reject(new Error(`no matching event in ${JSON.stringify(list)}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

describe("cachesync/client: the main journey against a listening server", () => {
  test("register → login → profile → deposit → admin approval → ledger → SSE event, then resume", async () => {
    const api = createCachesyncClient({ baseUrl });
    const email = `journey${Date.now()}@example.com`;
    const password = "journey-password-1";

    const registered = await unwrap(
      api.POST("/api/v1/auth/register", { body: { email, username: `j${Date.now()}`, password } }),
    );
    expect(registered.user.email).toBe(email);
    const { token, user } = await unwrap(
      api.POST("/api/v1/auth/login", { body: { email, password } }),
    );
    api.setToken(token);

    const updated = await unwrap(
      api.PATCH("/api/v1/users/me", { body: { displayName: "Journey" } }),
    );
    expect(updated.displayName).toBe("Journey");
    const me = await unwrap(api.GET("/api/v1/users/me"));
    expect(me.user.id).toBe(user.id);
    expect(me.user.wallet.balance).toBe(0);

    // The stream is open before the money moves, with the bearer token (fetch transport).
    const events: UserDataUpdated[] = [];
    let opened = 0;
    let depositId = "";
    const sub = subscribeUserEvents({
      baseUrl,
      token,
      onEvent: (e) => events.push(e),
      onOpen: () => opened++,
    });
    try {
      for (let i = 0; i < 500 && opened === 0; i++) await Bun.sleep(10);
      expect(opened).toBe(1);

      const deposit = await unwrap(
        api.POST("/api/v1/deposits/request", { body: { amount: 2500, senderName: "Journey" } }),
      );
      expect(deposit.status).toBe("pending");
      depositId = deposit.id;

      const admin = createCachesyncClient({ baseUrl });
      const session = await unwrap(
        admin.POST("/api/v1/auth/login", {
          body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        }),
      );
      admin.setToken(session.token);
      const approved = await unwrap(
        admin.PUT("/api/v1/deposits/{id}/approve", {
          params: { path: { id: deposit.id } },
          body: {},
        }),
      );
      expect(approved.status).toBe("approved");

      const ledger = await unwrap(api.GET("/api/v1/wallet/ledger", { params: { query: {} } }));
      expect(ledger.items[0]).toMatchObject({ amount: 2500, balanceAfter: 2500 });

      const credited = await eventsUntil(events, (e) => e.user.wallet.balance === 2500);
      expect(credited).toMatchObject({ userId: user.id, changed: ["wallet"] });
      expect(credited.reason).toContain(deposit.id);
      expect(sub.lastEventId).toBeTruthy();
    } finally {
      sub.close();
    }

    // Disconnected: a change made now is replayed on resume with Last-Event-ID.
    await unwrap(api.PATCH("/api/v1/users/me", { body: { bio: "missed while away" } }));
    const replayed: UserDataUpdated[] = [];
    const resumed = subscribeUserEvents({
      baseUrl,
      token: () => token,
      lastEventId: sub.lastEventId,
      onEvent: (e) => replayed.push(e),
    });
    try {
      const missed = await eventsUntil(replayed, (e) => e.user.bio === "missed while away");
      expect(missed.changed).toEqual(["bio"]);
    } finally {
      resumed.close();
    }

    // Errors come back typed, with the catalogue code.
    const refused = await unwrap(
      api.PUT("/api/v1/deposits/{id}/approve", { params: { path: { id: depositId } }, body: {} }),
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 403, code: "FORBIDDEN" });

    await assertMoneyInvariants(stack, [user.id]);
  }, 60_000);

  test("the client's types refuse what the document does not describe (checked by typecheck)", () => {
    const api = createCachesyncClient({ baseUrl });
    const neverCalled = () => [
      // @ts-expect-error: no such path in the document
      api.GET("/api/v1/nope"),
      // @ts-expect-error: amounts are integers in minor units, not strings
      api.POST("/api/v1/deposits/request", { body: { amount: "25.00", senderName: "A" } }),
      // @ts-expect-error: the approve route needs its {id} path parameter
      api.PUT("/api/v1/deposits/{id}/approve", { body: {} }),
    ];
    expect(typeof neverCalled).toBe("function");
  });

  test("a refused token stops the stream helper instead of retrying forever", async () => {
    let unauthorized = false;
    const sub = subscribeUserEvents({
      baseUrl,
      token: "not.a.token",
      onEvent: () => {},
      onUnauthorized: () => {
        unauthorized = true;
      },
    });
    for (let i = 0; i < 500 && !unauthorized; i++) await Bun.sleep(10);
    sub.close();
    expect(unauthorized).toBe(true);
  });
});
