import { ObjectId } from "bson";
import type { Server } from "bun";
import { eventsTopic } from "../../plugins/cache/events";
import { USER_COLLECTION, type UserDoc } from "../../plugins/features/users";
import { recoverWallet } from "../../plugins/features/wallet";
import { ledgerSums } from "../../plugins/operations/adoption/ledger-sum";
import { type EventStream, openEventStream } from "./event-stream";
import type { FaultProxy } from "./fault-proxy";
import { HistoryRecorder, type Op } from "./history";
import type { FeedEntry } from "./history-checker";
import type { JitteredDeployment } from "./jittered-deployment";
import { seedUser } from "./seed";
import type { TestStack } from "./stack";

export interface HistoryRunOptions {
  /** A deployment started with ADMIN_EMAIL / ADMIN_PASSWORD and ADMIN_INITIAL_BALANCE set. */
  deployment: JitteredDeployment;
  admin: { email: string; password: string };
  durationMs: number;
  /** Users written, read and paid (the first is hot: half the operations). Default 3. */
  users?: number;
  writers?: number;
  /** A read per instance every this many ms (open loop). Default 3. */
  readEveryMs?: number;
  /** Deposit + approval loops. Default 1. */
  payers?: number;
  /** Each subscriber reconnects with Last-Event-ID this often, to the next instance. Default 400. */
  reconnectEveryMs?: number;
  /** Faults between instances and stores while the load runs (see `historyNemesis`). */
  nemesis?: (running: () => boolean) => Promise<void>;
  /** Adds `X-Min-Version` (the last version this client wrote) to the reads of one process. */
  tokenReads?: boolean;
}

export interface HistoryRun {
  ops: Op[];
  feed: FeedEntry[];
  subscribedAfter: Record<string, string>;
  ms: number;
}

type Stack = TestStack;

const json = async (res: Response) =>
  (await res.json().catch(() => ({}))) as { data?: Record<string, unknown> };

/**
 * A Jepsen-style run on a jittered deployment: clients invoke reads (`GET /users/me`), writes
 * (`PATCH /users/me`), deposits approved by an admin, and SSE subscriptions that reconnect with
 * `Last-Event-ID`, each on a rotating instance, while `nemesis` stalls and partitions the links
 * between instances and stores. Every invocation and completion is recorded; after the faults
 * are healed the run reads every user once more and audits MongoDB (balance, ledger). Check the
 * result with `checkHistory`.
 */
export async function runHistory(opts: HistoryRunOptions): Promise<HistoryRun> {
  const d = opts.deployment;
  const stacks = d.stacks;
  const first = stacks[0] as Stack;
  const rec = new HistoryRecorder();
  const name = (i: number) => `instance ${String.fromCharCode(65 + (i % stacks.length))}`;
  const at = (i: number) => stacks[i % stacks.length] as Stack;
  const servers: Server<undefined>[] = stacks.map((s) =>
    Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: s.app.fetch }),
  );
  const base = (i: number) => `http://127.0.0.1:${servers[i % servers.length]?.port}`;

  const users: { id: string; token: string }[] = [];
  for (let i = 0; i < (opts.users ?? 3); i++) {
    const u = await seedUser(first.ctx);
    const token = await first.ctx
      .use("auth")
      .issueToken({ id: u.id, role: "user", email: u.email });
    users.push({ id: u.id, token });
  }
  const login = await first.call("POST", "/api/v1/auth/login", { body: opts.admin });
  const adminToken = String((await json(login)).data?.token ?? "");
  if (!adminToken) throw new Error(`admin login answered ${login.status}`);
  const pick = () =>
    (Math.random() < 0.5 ? users[0] : users[Math.floor(Math.random() * users.length)]) as {
      id: string;
      token: string;
    };

  // Subscribers first: each user's first event (a write made now) marks where its feed starts.
  const subscribedAfter: Record<string, string> = {};
  const readers: EventStream[] = [];
  const subs = users.map((u, i) => ({ user: u, process: `subscriber ${i}`, lastId: "" }));
  for (const [i, s] of subs.entries()) {
    const r = await openEventStream(base(i), { token: s.user.token });
    await at(i).call("PATCH", "/api/v1/users/me", { token: s.user.token, body: { bio: "start" } });
    const ev = await r.next(3000);
    if (!ev?.id) throw new Error(`subscriber ${i} got no first event`);
    s.lastId = ev.id;
    subscribedAfter[s.process] = s.lastId;
    await r.close();
  }

  const t0 = performance.now();
  let loadOn = true;
  const running = () => loadOn && performance.now() - t0 < opts.durationMs;
  const lastWritten = new Map<string, number>();

  const writer = async (w: number) => {
    for (let n = w; running(); n++) {
      const u = pick();
      const inv = rec.invoke(`writer ${w}`, "write", u.id, name(n));
      try {
        const res = await at(n).call("PATCH", "/api/v1/users/me", {
          token: u.token,
          body: { bio: `w${w}-${n}` },
        });
        const body = await json(res);
        if (res.status === 200) {
          const v = Number(body.data?.version);
          inv.ok(v);
          lastWritten.set(u.id, Math.max(v, lastWritten.get(u.id) ?? 0));
        } else if (res.status < 500) inv.fail({ status: res.status });
        else inv.info({ status: res.status });
      } catch {
        inv.info();
      }
    }
  };

  const read = async (
    i: number,
    process: string,
    u: { id: string; token: string },
    token?: number,
  ) => {
    const headers = token ? { "x-min-version": String(token) } : undefined;
    const inv = rec.invoke(process, "read", u.id, name(i), token ? { minVersion: token } : {});
    try {
      const res = await at(i).call("GET", "/api/v1/users/me", { token: u.token, headers });
      const body = await json(res);
      const user = body.data?.user as { version?: number } | undefined;
      if (res.status === 200 && typeof user?.version === "number") inv.ok(user.version);
      else inv.fail({ status: res.status });
    } catch {
      inv.fail();
    }
  };

  const reader = async (i: number) => {
    const pending = new Set<Promise<void>>();
    for (let n = 0; running(); n++) {
      if (pending.size < 64) {
        const u = pick();
        const token = opts.tokenReads && n % 2 ? lastWritten.get(u.id) : undefined;
        const p = read(i, `reader ${i}${token ? " (token)" : ""}`, u, token);
        pending.add(p);
        void p.then(() => pending.delete(p));
      }
      await Bun.sleep(opts.readEveryMs ?? 3);
    }
    await Promise.all(pending);
  };

  const payer = async (p: number) => {
    for (let n = p; running(); n++) {
      const u = pick();
      const amount = 100 + (n % 7);
      const req = await at(n)
        .call("POST", "/api/v1/deposits/request", {
          token: u.token,
          body: { amount, senderName: "History" },
        })
        .catch(() => null);
      const id = req?.status === 201 ? String((await json(req)).data?.id) : "";
      if (!id) {
        await Bun.sleep(20);
        continue;
      }
      const inv = rec.invoke(`payer ${p}`, "money", u.id, name(n + 1));
      try {
        const res = await at(n + 1).call("PUT", `/api/v1/deposits/${id}/approve`, {
          token: adminToken,
          body: {},
        });
        if (res.status === 200) inv.ok(amount);
        else if (res.status < 500) inv.fail({ status: res.status, amount });
        else inv.info({ status: res.status, amount });
      } catch {
        inv.info({ amount });
      }
    }
  };

  const subscriber = async (s: (typeof subs)[number], i: number) => {
    for (let n = i + 1; ; n++) {
      const last = !running();
      let r: EventStream | undefined;
      try {
        r = await openEventStream(base(n), { token: s.user.token, lastEventId: s.lastId });
        readers.push(r);
        const until = performance.now() + (last ? 1500 : (opts.reconnectEveryMs ?? 400));
        for (;;) {
          const left = until - performance.now();
          if (left <= 0) break;
          const ev = await r.next(left);
          if (!ev) break;
          const data = JSON.parse(ev.data ?? "{}") as { userId: string; version: number };
          rec.instant(s.process, "event", data.userId, name(n), data.version, {
            eventId: ev.id ?? "",
          });
          s.lastId = ev.id ?? s.lastId;
        }
      } catch {
        await Bun.sleep(100);
      } finally {
        await r?.close();
      }
      if (last) return;
    }
  };

  const load = Promise.all([
    ...Array.from({ length: opts.writers ?? 2 }, (_, w) => writer(w)),
    ...stacks.map((_, i) => reader(i)),
    ...Array.from({ length: opts.payers ?? 1 }, (_, p) => payer(p)),
  ]);
  const listening = Promise.all(subs.map((s, i) => subscriber(s, i)));
  await Promise.all([load, opts.nemesis?.(running)]);
  loadOn = false;
  for (const p of d.proxies) for (const proxy of [p.redis, p.mongo]) healAll(proxy);

  // Quiet: the faults are over. Every instance reads every user once more; subscribers catch up.
  await Bun.sleep(500);
  for (const [i] of stacks.entries()) for (const u of users) await read(i, `final reader ${i}`, u);
  await listening;

  // The feed as stored, and MongoDB's balances and ledgers once no balance change is in flight.
  const feed: FeedEntry[] = [];
  const earliest = Object.values(subscribedAfter).sort()[0] ?? "0";
  for (const m of await first.ctx.bus.since(
    eventsTopic(first.config.CACHE_PREFIX),
    earliest,
    100_000,
  )) {
    const e = JSON.parse(m.payload) as { userId?: string; version?: number };
    if (e.userId && typeof e.version === "number")
      feed.push({ id: m.id, key: e.userId, version: e.version });
  }
  const ids = users.map((u) => new ObjectId(u.id));
  // Balance changes a fault cut short are finished as the periodic recovery would (every 60 s).
  await recoverWallet(first.ctx, { graceMs: 0 });
  const sums = await ledgerSums(first.ctx.stores.db, ids);
  if (sums.inFlight.size > 0) throw new Error("balance changes still in flight after recovery");
  const docs = await first.ctx.stores.db
    .collection<UserDoc>(USER_COLLECTION)
    .find({ _id: { $in: ids } });
  for (const doc of docs) {
    const id = doc._id.toHexString();
    rec.instant("auditor", "audit", id, "mongodb", Number(doc.wallet?.balance ?? 0), {
      ledger: sums.applied.get(id) ?? 0,
      initial: 0,
    });
  }
  await Promise.all(readers.map((r) => r.close()));
  for (const s of servers) s.stop(true);
  return { ops: rec.ops, feed, subscribedAfter, ms: performance.now() - t0 };
}

function healAll(proxy: FaultProxy): void {
  proxy.heal();
  proxy.resume();
}

export type LinkFault = "stall" | "partition-up" | "partition-down";

/**
 * Latency, stalls and one-way partitions between each instance and each store, one at a time:
 * every `everyMs` a fault on one link of one instance for `faultMs`, taking turns over the
 * instances, the `stores` and the `faults` (default: every store, every fault).
 */
export function historyNemesis(
  d: JitteredDeployment,
  opts: {
    everyMs?: number;
    faultMs?: number;
    stores?: readonly ("redis" | "mongo")[];
    faults?: readonly LinkFault[];
  } = {},
): (running: () => boolean) => Promise<void> {
  const apply: Record<LinkFault, (p: FaultProxy) => void> = {
    stall: (p) => p.stall("both"),
    "partition-up": (p) => p.partition("up"),
    "partition-down": (p) => p.partition("down"),
  };
  const stores = opts.stores ?? ["mongo", "redis"];
  const faults = opts.faults ?? ["stall", "partition-up", "partition-down"];
  return async (running) => {
    for (let n = 0; running(); n++) {
      await Bun.sleep((opts.everyMs ?? 400) - (opts.faultMs ?? 200));
      if (!running()) return;
      const links = d.proxies[n % d.proxies.length];
      const store = stores[Math.floor(n / d.proxies.length) % stores.length] ?? "mongo";
      const fault = faults[Math.floor(n / (d.proxies.length * stores.length)) % faults.length];
      const proxy = links?.[store] as FaultProxy;
      apply[fault ?? "stall"](proxy);
      await Bun.sleep(opts.faultMs ?? 200);
      healAll(proxy);
    }
  };
}
