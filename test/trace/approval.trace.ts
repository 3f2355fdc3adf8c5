/**
 * Measures one deposit approval (admin, PUT /deposits/:id/approve): Redis commands (MONITOR) and
 * MongoDB commands (the wire server's counters). `TRACE_N=0` does everything but the approval,
 * so a coverage diff of N=0 and N=1 lists the files the approval passes through.
 * Run: TRACE_N=1 bun test ./test/trace/approval.trace.ts
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV, ADMIN_INITIAL_BALANCE: 1_000_000 } });
});
afterAll(() => stack.close());

test("PUT /deposits/:id/approve", async () => {
  const u = await registerUser(stack);
  const admin = await loginAdmin(stack);
  const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
    token: u.token,
    body: { amount: 5000, senderName: "Ana" },
  });
  const id = dep.body.data.id as string;
  // Warm: both users cached, as in steady state.
  await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
  await callJson(stack, "GET", "/api/v1/users/me", { token: admin });
  const mon = await new Redis(stack.redis?.url as string).monitor();
  const cmds: string[] = [];
  mon.on("monitor", (_t: string, args: string[]) => cmds.push(args.slice(0, 2).join(" ")));
  await Bun.sleep(100);
  stack.mongo?.resetStats();
  if (Number(process.env.TRACE_N ?? 1) > 0) {
    const r = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, { token: admin });
    expect(r.status).toBe(200);
  }
  await Bun.sleep(200);
  mon.disconnect();
  console.log(JSON.stringify({ redis: cmds, mongo: stack.mongo?.stats.commands }, null, 1));
});
