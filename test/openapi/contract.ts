import { expect } from "bun:test";
import type { TestStack } from "../support/stack";
import type { ApiBody } from "../support/users";
import {
  type OpenApiDoc,
  type Operation,
  operations,
  type ResponseChecker,
  responseChecker,
} from "./document";

/**
 * The HTTP contract as a reusable pass: `/openapi.json` read from a stack, every call made by
 * operationId at the document's path, and every answer (status, content type, body) checked
 * against what the document says. `test/openapi/conformance.test.ts` runs it on users it
 * registers; `test/adoption/` runs the same pass on users adopted from a legacy database.
 */

export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** Sent as is, with `contentType` (default application/json). */
  raw?: string;
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  body: unknown;
}

export interface Contract {
  stack: TestStack;
  doc: OpenApiDoc;
  ops: Map<string, Operation>;
  checker: ResponseChecker;
  /** `operationId status` of every answer seen. */
  seen: Set<string>;
  /** Every answer that differs from the document, explained. */
  drift: string[];
  /** Calls made so far. */
  readonly calls: number;
  /** Calls an operation by operationId at the document's path; checks the answer against it. */
  call(id: string, o?: CallOptions): Promise<Answer>;
  /** The documented request example of an operation. */
  example(id: string): unknown;
}

export async function openContract(stack: TestStack): Promise<Contract> {
  const doc = (await (await stack.app.request("/openapi.json")).json()) as OpenApiDoc;
  const ops = operations(doc);
  const checker = responseChecker(doc);
  const seen = new Set<string>();
  const drift: string[] = [];
  let calls = 0;

  async function call(id: string, o: CallOptions = {}): Promise<Answer> {
    const op = ops.get(id);
    if (!op) throw new Error(`no operation ${id} in the document`);
    let path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = o.params?.[name];
      if (v === undefined) throw new Error(`${id}: path parameter ${name} missing`);
      return encodeURIComponent(v);
    });
    if (o.query) path += `?${new URLSearchParams(o.query)}`;
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.raw !== undefined || o.body !== undefined) {
      headers["content-type"] = o.contentType ?? "application/json";
      body = o.raw ?? JSON.stringify(o.body);
    }
    const res = await stack.app.request(path, { method: op.method, headers, body });
    const type = res.headers.get("content-type");
    let parsed: unknown;
    if (type?.includes("text/event-stream")) {
      // An endless stream: its first frame is enough to know what it is.
      const reader = res.body?.getReader();
      const first = await reader?.read();
      await reader?.cancel();
      parsed = new TextDecoder().decode(first?.value ?? new Uint8Array());
    } else if (type?.includes("json")) parsed = await res.json();
    else parsed = await res.text();
    calls++;
    seen.add(`${id} ${res.status}`);
    drift.push(...checker.check(op, res.status, type, parsed));
    return { status: res.status, body: parsed };
  }

  return {
    stack,
    doc,
    ops,
    checker,
    seen,
    drift,
    get calls() {
      return calls;
    },
    call,
    example: (id) => ops.get(id)?.op.requestBody?.content["application/json"]?.example,
  };
}

export const json = (body: unknown) => body as ApiBody;

/** A user the pass acts as: its bearer token and the balance it holds now (minor units). */
export interface ContractUser {
  id: string;
  token: string;
  balance: number;
}

/**
 * Everything one user's own data answers, happy path and the errors that user can provoke:
 * profile, public view, deposits and withdrawals through an admin (approve, approve again,
 * reject after approval, reject, over the balance, covered when asked but not any more), the
 * paginated lists, the admin cache routes on that user, and the event stream with each
 * credential. Returns the balance the user holds afterwards.
 */
export async function userPass(
  c: Contract,
  adminToken: string,
  user: ContractUser,
): Promise<number> {
  const { token, id: userId } = user;
  const api = c.call;
  const { example } = c;

  // ---- Profile
  expect((await api("getSseTicket", { token })).status).toBe(200);
  expect((await api("getMe", { token })).status).toBe(200);
  expect((await api("updateMe", { token, body: example("updateMe") })).status).toBe(200);
  expect((await api("updateMe", { token, body: { wallet: { balance: 1 } } })).status).toBe(400);
  expect((await api("getUser", { params: { id: userId } })).status).toBe(200);

  // ---- Money: deposit → approve → approve again → reject; a rejected deposit.
  const deposit = example("requestDeposit") as { amount: number };
  const dep = await api("requestDeposit", { token, body: deposit });
  expect(dep.status).toBe(201);
  const approve = {
    params: { id: json(dep.body).data.id },
    token: adminToken,
    body: example("approveDeposit"),
  };
  expect((await api("approveDeposit", approve)).status).toBe(200);
  expect((await api("approveDeposit", approve)).status).toBe(409);
  expect((await api("rejectDeposit", { ...approve, body: example("rejectDeposit") })).status).toBe(
    409,
  );
  const dep2 = await api("requestDeposit", { token, body: { amount: 100, senderName: "Ada" } });
  const reject = { params: { id: json(dep2.body).data.id }, token: adminToken };
  expect((await api("rejectDeposit", { ...reject, body: example("rejectDeposit") })).status).toBe(
    200,
  );

  // ---- Withdrawals: approve → approve again → reject; over the balance; a rejected one.
  const withdrawal = example("requestWithdrawal") as { amount: number };
  const wd = await api("requestWithdrawal", { token, body: withdrawal });
  expect(wd.status).toBe(201);
  const wdApprove = { params: { id: json(wd.body).data.id }, token: adminToken, body: {} };
  expect((await api("approveWithdrawal", wdApprove)).status).toBe(200);
  expect((await api("approveWithdrawal", wdApprove)).status).toBe(409);
  expect((await api("rejectWithdrawal", wdApprove)).status).toBe(409);
  let balance = user.balance + deposit.amount - withdrawal.amount;
  const over = { amount: balance + 1, destination: "IBAN" };
  expect((await api("requestWithdrawal", { token, body: over })).status).toBe(409);
  const wd2 = await api("requestWithdrawal", { token, body: { amount: 1, destination: "X" } });
  expect(
    (await api("rejectWithdrawal", { params: { id: json(wd2.body).data.id }, token: adminToken }))
      .status,
  ).toBe(200);
  // Two withdrawals the balance covers one at a time: the second approval is 409, back to pending.
  const half = Math.floor(balance / 2) + 1;
  const wd3 = await api("requestWithdrawal", { token, body: { amount: half, destination: "X" } });
  const wd4 = await api("requestWithdrawal", { token, body: { amount: half, destination: "Y" } });
  const second: number[] = [];
  for (const w of [wd3, wd4])
    second.push(
      (await api("approveWithdrawal", { params: { id: json(w.body).data.id }, token: adminToken }))
        .status,
    );
  expect(second).toEqual([200, 409]);
  balance -= half;

  for (const id of ["listDeposits", "listWithdrawals", "getLedger"]) {
    expect((await api(id, { token, query: { limit: "1" } })).status).toBe(200);
    expect((await api(id, { token, query: { limit: "0" } })).status).toBe(400);
    expect((await api(id, { token, query: { cursor: "!!" } })).status).toBe(400);
  }

  // ---- Admin cache on this user, by the §5 routes and the per-collection ones.
  for (const id of ["validateUserCache", "syncUserCache", "invalidateUserCache"])
    expect((await api(id, { params: { userId }, token: adminToken })).status).toBe(200);
  const entry = { params: { collection: "users", id: userId }, token: adminToken };
  expect((await api("getCollectionCacheStats", entry)).status).toBe(200);
  for (const op of ["validateCollectionCache", "syncCollectionCache", "invalidateCollectionCache"])
    expect((await api(op, entry)).status).toBe(200);
  const ids = { params: { collection: "users" }, token: adminToken, body: { ids: [userId] } };
  expect((await api("bulkSyncCollectionCache", ids)).status).toBe(200);

  // ---- Events: the stream opens with each credential the document lists.
  expect((await api("streamEvents", { token })).status).toBe(200);
  const ticket = json((await api("getSseTicket", { token })).body).data.ticket as string;
  expect((await api("streamEvents", { query: { ticket } })).status).toBe(200);
  expect((await api("streamEvents", { headers: { cookie: `cs_token=${token}` } })).status).toBe(
    200,
  );
  expect((await api("streamEvents", { token, query: { lastEventId: "" } })).status).toBe(400);
  // A real event's data is the document's UserDataUpdated.
  const stream = await c.stack.app.request("/api/v1/events", {
    headers: { authorization: `Bearer ${token}` },
  });
  const frames = stream.body?.pipeThrough(new TextDecoderStream()).getReader();
  await api("updateMe", { token, body: { bio: "streamed" } });
  let text = "";
  while (frames && !text.includes("event: userDataUpdated")) text += (await frames.read()).value;
  await frames?.cancel();
  const data = /event: userDataUpdated\n(?:id: .*\n)?data: (.*)\n/.exec(text)?.[1];
  expect(c.checker.checkComponent("UserDataUpdated", JSON.parse(data ?? "null"))).toEqual([]);
  return balance;
}
