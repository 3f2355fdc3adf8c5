import { join } from "node:path";
import { ObjectId } from "bson";
import { eventsTopic } from "../../plugins/events/user-data-updated";
import { startEnv } from "../lib/env";
import { rssOf } from "../lib/machine";
import { type ChildServer, spawnApp } from "../lib/procs";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt, median, percentiles } from "../lib/stats";

const PER_USER = 100;

/**
 * Figure 5: one API instance (src/server.ts in its own process) holding 1k, 5k, then 10k SSE
 * streams (raw TCP readers in another process), 100 streams per user. Each round publishes one
 * userDataUpdated per user on the Redis bus (as the events plugin does), so every stream gets
 * exactly one event; delivery = receive time − publish time. RSS of the API process per 1k.
 */
export const sseSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv();
  let app: ChildServer | undefined;
  let clients: ReturnType<typeof Bun.spawn> | undefined;
  try {
    const { stack } = env;
    app = await spawnApp(env, {
      SSE_MAX_PER_USER: String(PER_USER),
      SSE_HEARTBEAT_MS: "30000",
      SSE_MAX_QUEUE: "1024",
    });
    const auth = stack.ctx.use("auth");
    const topic = eventsTopic(stack.config.CACHE_PREFIX);
    const levels = [1000, 5000, 10000];
    const roundsPerLevel = ctx.quick ? 1 : 3;

    const proc = Bun.spawn(
      [
        "bash",
        "-c",
        'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec bun run "$0"',
        join(import.meta.dir, "..", "servers", "sse-clients.ts"),
      ],
      {
        env: { ...process.env, SSE_TARGET: new URL(app.url).host },
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    clients = proc;
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let buf = "";
    const ask = async <T>(cmd: object): Promise<T> => {
      (proc.stdin as import("bun").FileSink).write(`${JSON.stringify(cmd)}\n`);
      (proc.stdin as import("bun").FileSink).flush();
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return JSON.parse(line) as T;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("SSE client process exited");
        buf += new TextDecoder().decode(value);
      }
    };

    await Bun.sleep(300);
    const rssBase = rssOf(app.pid);
    const users: { id: string; token: string }[] = [];
    let connected = 0;
    let round = 0;
    const rows: string[][] = [];
    let p99At10k = Number.NaN;
    let reached = 0;
    for (const level of levels) {
      const need = level / PER_USER - users.length;
      const tokens: string[] = [];
      for (let i = 0; i < need; i++) {
        const id = new ObjectId().toHexString();
        const token = await auth.issueToken({
          id,
          email: `sse${users.length}@bench.test`,
          role: "user",
        });
        users.push({ id, token });
        for (let k = 0; k < PER_USER; k++) tokens.push(token);
      }
      const t0 = performance.now();
      const r = await ask<{ connected: number; failed: number }>({ cmd: "connect", tokens });
      const connectS = (performance.now() - t0) / 1000;
      connected = r.connected;
      ctx.log(`sse: ${connected} streams open (${r.failed} failed) after ${connectS.toFixed(1)} s`);
      if (connected < level) {
        rows.push([
          fmt.int(level),
          `only ${fmt.int(connected)} opened (${r.failed} failed)`,
          "",
          "",
          "",
          "",
          "",
        ]);
        reached = Math.max(reached, connected);
        break;
      }
      reached = level;
      await Bun.sleep(500);
      const rss = rssOf(app.pid);
      const p50s: number[] = [];
      const p99s: number[] = [];
      const maxes: number[] = [];
      let got = 0;
      for (let k = 0; k < roundsPerLevel; k++) {
        round++;
        const sends: Promise<unknown>[] = [];
        for (const u of users) {
          const payload = `{"type":"userDataUpdated","userId":"${u.id}","version":${round},"changed":["bio"],"user":{"id":"${u.id}"},"at":"${new Date().toISOString()}","benchSentAt":${performance.timeOrigin + performance.now()},"benchRound":${round}}`;
          sends.push(stack.ctx.bus.publish(topic, payload));
        }
        await Promise.all(sends);
        const res = await ask<{ round: number; lat: number[] }>({
          cmd: "collect",
          round,
          expect: connected,
          timeoutMs: 15_000,
        });
        got = res.lat.length;
        const [p50, p99, max] = percentiles(res.lat, [50, 99, 100]);
        p50s.push(p50 as number);
        p99s.push(p99 as number);
        maxes.push(max as number);
        await Bun.sleep(300);
      }
      const p99 = median(p99s);
      if (level === 10000) p99At10k = p99;
      rows.push([
        fmt.int(level),
        `${fmt.int(got)} / ${fmt.int(connected)}`,
        fmt.ms(median(p50s)),
        fmt.ms(p99),
        fmt.ms(median(maxes)),
        fmt.mb(rss),
        fmt.mb(((rss - rssBase) / level) * 1000),
      ]);
      ctx.log(
        `sse ${level}: p50 ${fmt.ms(median(p50s))} ms, p99 ${fmt.ms(p99)} ms, RSS ${fmt.mb(rss)} MB`,
      );
    }
    await ask<unknown>({ cmd: "exit" }).catch(() => undefined);
    const body = [
      `One API process (src/server.ts, SSE_MAX_PER_USER=${PER_USER}), streams opened by raw-TCP readers in one separate \`bun\` process (open-file limit raised to the hard limit, ${await hardLimit()}), ${PER_USER} streams per user, bearer auth. ` +
        `Each round publishes one userDataUpdated per user on the Redis bus from the bench process (XADD + PUBLISH, as the events plugin does), all at once, so each stream receives exactly one event; delivery time = client receive − publish call. ${roundsPerLevel} round(s) per level, median shown. API process RSS before any stream: ${fmt.mb(rssBase)} MB.`,
      "",
      table(
        [
          "streams",
          "events received",
          "p50 ms",
          "p99 ms",
          "max ms",
          "API RSS MB",
          "RSS per 1k streams MB",
        ],
        rows,
      ),
      reached < 10000 ? `\nMaximum reached here: ${fmt.int(reached)} streams.` : "",
    ].join("\n");
    return {
      id: "sse",
      title: "5. SSE fan-out",
      body,
      targets: [
        {
          name: "10k SSE subscribers: delivery p99",
          value: Number.isFinite(p99At10k)
            ? `${fmt.ms(p99At10k)} ms`
            : `n/a (max ${fmt.int(reached)} streams)`,
          target: "< 250 ms",
          met: Number.isFinite(p99At10k) ? p99At10k < 250 : false,
        },
      ],
    };
  } finally {
    clients?.kill();
    await app?.stop().catch(() => {});
    await env.close();
  }
};

async function hardLimit(): Promise<string> {
  const p = Bun.spawnSync(["bash", "-c", "ulimit -Hn"]);
  return p.stdout.toString().trim();
}
