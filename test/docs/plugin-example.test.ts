import { afterAll, beforeAll, expect, test } from "bun:test";
import { defaultPlugins } from "../../app/plugins";
import { auditPlugin } from "../../docs/examples/audit-plugin";
import { createTestStack, type TestStack } from "../support";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({
    stores: "memory",
    plugins: [...defaultPlugins(), auditPlugin()],
  });
});
afterAll(() => stack.close());

test("the README's plugin example mounts at /api/v1 and sees user writes through its hook", async () => {
  const reg = await stack.call("POST", "/api/v1/auth/register", {
    body: { email: "audit@example.com", username: "audit", password: "audit-password" },
  });
  expect(reg.status).toBe(201);
  const res = await stack.call("GET", "/api/v1/audit/writes");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { success: boolean; writes: Record<string, number> };
  expect(body.success).toBe(true);
  expect(body.writes.insertOne).toBeGreaterThanOrEqual(1);
});
