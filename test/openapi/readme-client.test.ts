import { afterAll, beforeAll, expect, test } from "bun:test";
import { callFromYourCode } from "../../docs/examples/client";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";

/** The README's client example is docs/examples/client.ts, and it runs as written. */
let stack: TestStack;
let server: ReturnType<typeof Bun.serve>;
beforeAll(async () => {
  stack = await createTestStack({ stores: "memory" });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: stack.app.fetch, idleTimeout: 0 });
});
afterAll(async () => {
  await server?.stop(true);
  await stack?.close();
});

test("README 'Call it from your code' is docs/examples/client.ts, and it runs", async () => {
  const source = await Bun.file(new URL("../../docs/examples/client.ts", import.meta.url)).text();
  const block = /\/\/ README:begin\n([\s\S]*?)\n\s*\/\/ README:end/.exec(source)?.[1] ?? "";
  const code = block.replace(/^ {2}/gm, "");
  const readme = await Bun.file(new URL("../../README.md", import.meta.url)).text();
  expect(code.length).toBeGreaterThan(100);
  expect(readme).toContain(code);

  const { email, password } = await registerUser(stack);
  const { user, deposit, events } = await callFromYourCode(server.url.origin, email, password);
  events.close();
  expect(user.email).toBe(email);
  expect(deposit.status).toBe("pending");
});
