import { ObjectId } from "bson";
import type { SanitizedUser } from "../../plugins/features/users";
import { rawMongo, seedBenchUser, startEnv } from "../lib/env";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt, percentiles } from "../lib/stats";

const WORKERS = 4;

/**
 * Visibility of writes made straight to MongoDB with the official driver (no version bump, as an
 * outside script writes): the time from the write's acknowledgement to the first read through
 * the API (`GET /api/v1/users/:id`, cache first) that shows it. 80 % `$set`, 10 % replace keeping
 * the version, 10 % delete; the user was cached before each write. The test server runs as a
 * one-node replica set (`--replSet rs0`) in its own process.
 */
export const outsideWritesSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv({
    env: { CHANGE_STREAMS: "on" },
    mongoArgs: ["--replSet", "rs0", "--changeHistory", "200000"],
  });
  try {
    const { stack } = env;
    const total = Math.max(200, Math.round(10_000 * ctx.scale));
    const users: SanitizedUser[] = [];
    for (let i = 0; i < WORKERS * 8; i++) users.push(await seedBenchUser(stack));
    const deletes = Math.ceil(total / 10);
    const doomed: SanitizedUser[] = [];
    for (let i = 0; i < deletes; i++) doomed.push(await seedBenchUser(stack));
    const client = await rawMongo(env.mongo.url);
    const coll = client.db(stack.dbName).collection("users");
    const read = async (id: string) => {
      const res = await stack.call("GET", `/api/v1/users/${id}`);
      if (res.status === 404) return null;
      return ((await res.json()) as { data: SanitizedUser }).data;
    };
    const samples: Record<"set" | "replace" | "delete", number[]> = {
      set: [],
      replace: [],
      delete: [],
    };
    let timeouts = 0;
    /** Polls through the API until `seen` holds; the latency in ms, from the acknowledgement. */
    const visible = async (id: string, seen: (u: SanitizedUser | null) => boolean) => {
      const acked = performance.now();
      while (!seen(await read(id))) {
        if (performance.now() - acked > 10_000) {
          timeouts++;
          break;
        }
        await Bun.sleep(0);
      }
      return performance.now() - acked;
    };
    let next = 0;
    const worker = async (w: number) => {
      const own = users.filter((_u, i) => i % WORKERS === w);
      while (next < total) {
        const n = next++;
        const kind = n % 10 === 9 ? "delete" : n % 10 === 8 ? "replace" : "set";
        if (kind === "delete") {
          const victim = doomed.pop();
          if (!victim) continue;
          await read(victim.id); // cached first
          await coll.deleteOne({ _id: new ObjectId(victim.id) });
          samples.delete.push(await visible(victim.id, (u) => u === null));
          continue;
        }
        const u = own[n % own.length] as SanitizedUser;
        await read(u.id);
        const name = `outside ${n}`;
        if (kind === "set") {
          await coll.updateOne({ _id: new ObjectId(u.id) }, { $set: { displayName: name } });
        } else {
          const doc = await coll.findOne({ _id: new ObjectId(u.id) });
          await coll.replaceOne({ _id: new ObjectId(u.id) }, { ...doc, displayName: name });
        }
        samples[kind].push(await visible(u.id, (x) => x?.displayName === name));
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const seconds = (performance.now() - started) / 1000;
    await client.close();

    const all = [...samples.set, ...samples.replace, ...samples.delete];
    const row = (name: string, xs: number[]) => {
      const [p50, p99, max] = percentiles(xs, [50, 99, 100]);
      return [
        name,
        fmt.int(xs.length),
        fmt.ms(p50 as number),
        fmt.ms(p99 as number),
        fmt.ms(max as number),
      ];
    };
    const [, p99all] = percentiles(all, [50, 99]);
    const body = [
      `${fmt.int(all.length)} outside writes in ${seconds.toFixed(1)} s, ${WORKERS} writers, each on its own users; visibility = acknowledgement → first API read showing it. Timeouts (> 10 s): ${timeouts}.`,
      "",
      table(
        ["write", "n", "p50 ms", "p99 ms", "max ms"],
        [
          row("$set (no version bump)", samples.set),
          row("replace (same version)", samples.replace),
          row("delete", samples.delete),
          row("all", all),
        ],
      ),
    ].join("\n");
    return {
      id: "outside",
      title: "Outside writes (change streams)",
      body,
      targets: [
        {
          name: "outside write visible through the API, p99",
          value: `${fmt.ms(p99all as number)} ms`,
          target: "≤ 1000 ms",
          met: (p99all as number) <= 1000 && timeouts === 0,
        },
      ],
      log: [`outside writes: p99 ${fmt.ms(p99all as number)} ms over ${all.length}`],
    };
  } finally {
    await env.close();
  }
};
