import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestStack, type TestStack } from "../support";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({
    stores: "memory",
    env: { ADMIN_EMAIL: "root@example.com", ADMIN_PASSWORD: "root-password" },
  });
});
afterAll(() => stack.close());

test("GET /cache/stats on the embedded store counts the cached users, as on Redis", async () => {
  const login = await stack.call("POST", "/api/v1/auth/login", {
    body: { email: "root@example.com", password: "root-password" },
  });
  const { token } = ((await login.json()) as { data: { token: string } }).data;
  for (const name of ["cleo", "dora"]) {
    const reg = await stack.call("POST", "/api/v1/auth/register", {
      body: { email: `${name}@example.com`, username: name, password: `${name}-password` },
    });
    const { token: own } = ((await reg.json()) as { data: { token: string } }).data;
    expect((await stack.call("GET", "/api/v1/users/me", { token: own })).status).toBe(200);
  }
  const res = await stack.call("GET", "/api/v1/cache/stats", { token });
  const { data } = (await res.json()) as { data: { totalUserKeys: number; emailKeys: number } };
  // Both users were read through the cache: their id keys are counted (0 before the glob fix).
  expect(data.totalUserKeys).toBeGreaterThanOrEqual(2);
  expect(data.totalUserKeys).toBe(data.emailKeys);
});
