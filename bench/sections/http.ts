import { floorRedis, seedBenchUser, startEnv } from "../lib/env";
import { keysMatching } from "../lib/floor-client";
import { appEnv, type ChildServer, spawnApp, spawnServer } from "../lib/procs";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt, median, minMax } from "../lib/stats";
import { type HttpLoad, httpLoad } from "../lib/wrk";

/**
 * Figure 3: GET /api/v1/users/me served from the cache (the real server entry, app/server.ts,
 * in its own process) against a bare Hono route reading the same data — the user and the list
 * entries /users/me fills — with one MGET, JSON.parse and c.json (its own process too), 64 connections from wrk (or autocannon), same run. Then a breakdown server
 * adds one piece of the route at a time.
 */
export const httpSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv();
  const children: ChildServer[] = [];
  try {
    const { stack } = env;
    const user = await seedBenchUser(stack);
    await stack.ctx.use("cacheSync").getUserWithSync(user.id);
    const key = stack.ctx.use("cacheEngine").userKey(user.id);
    const token = await stack.ctx
      .use("auth")
      .issueToken({ id: user.id, email: user.email, role: "user" });
    const headers = { authorization: `Bearer ${token}` };

    const app = await spawnApp(env);
    children.push(app);
    const me = `${app.url}/api/v1/users/me`;
    const check = await fetch(me, { headers });
    const body = (await check.json()) as { data?: { user?: { id?: string } } };
    if (check.status !== 200 || body.data?.user?.id !== user.id)
      throw new Error(
        `GET /users/me answered ${check.status}: ${JSON.stringify(body).slice(0, 300)}`,
      );
    // The floor reads the same data as the route: the user's entry and the list entries the
    // first /users/me filled (its listings and favorites), in one MGET.
    const floor = floorRedis(env.redis, true);
    const listKeys = (await keysMatching(floor, `${stack.config.CACHE_PREFIX}*${user.id}*`)).filter(
      (k) => k !== key,
    );
    floor.disconnect();
    const bare = await spawnServer("bench/servers/bare.ts", {
      ...env.redis.env,
      BENCH_KEY: key,
      BENCH_LIST_KEYS: listKeys.join(","),
    });
    children.push(bare);
    const bareUrl = `${bare.url}/bare`;
    const bareCheck = await fetch(bareUrl);
    if (bareCheck.status !== 200) throw new Error(`bare route answered ${bareCheck.status}`);
    const bytesMe = (await (await fetch(me, { headers })).arrayBuffer()).byteLength;
    const bytesBare = (await (await fetch(bareUrl)).arrayBuffer()).byteLength;
    const missesBefore = await cacheMisses(app.url);

    const seconds = Math.max(2, Math.round(8 * ctx.scale));
    const conns = 64;
    await httpLoad(me, {
      connections: conns,
      seconds: Math.max(1, Math.round(seconds / 4)),
      headers,
    });
    await httpLoad(bareUrl, { connections: conns, seconds: Math.max(1, Math.round(seconds / 4)) });
    const runs: { me: HttpLoad; bare: HttpLoad }[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const pair: Partial<{ me: HttpLoad; bare: HttpLoad }> = {};
      const order: ("me" | "bare")[] = r % 2 ? ["bare", "me"] : ["me", "bare"];
      for (const which of order) {
        pair[which] =
          which === "me"
            ? await httpLoad(me, { connections: conns, seconds, headers })
            : await httpLoad(bareUrl, { connections: conns, seconds });
      }
      runs.push(pair as { me: HttpLoad; bare: HttpLoad });
      ctx.log(
        `http run ${r + 1}: /users/me ${fmt.int(pair.me!.reqPerSec)} req/s vs bare ${fmt.int(pair.bare!.reqPerSec)} req/s`,
      );
    }
    const missesAfter = await cacheMisses(app.url);
    const bad = runs.reduce(
      (s, r) => s + r.me.non2xx + r.me.errors + r.bare.non2xx + r.bare.errors,
      0,
    );
    for (const c of children.splice(0)) await c.stop();

    // Breakdown: one process, the app's middleware in front of every route, one piece added at a time.
    const piecesRows: string[][] = [];
    const pieces = await spawnServer("bench/servers/pieces.ts", {
      ...appEnv(env),
      BENCH_USER_ID: user.id,
      BENCH_KEY: key,
    });
    children.push(pieces);
    const steps: [string, string][] = [
      ["app middleware + redis.get + JSON.parse + c.json", "/bench/bare"],
      ["… + bearer JWT verify (requireUser)", "/bench/auth"],
      ["app middleware + getUserWithSync (no auth)", "/bench/hit"],
      ["… + bearer JWT verify", "/bench/auth-hit"],
      [
        "GET /api/v1/users/me (+ zod-openapi route, the overlay and both lists beside the session check)",
        "/api/v1/users/me",
      ],
    ];
    const pieceSeconds = Math.max(2, Math.round(5 * ctx.scale));
    const pieceRuns: HttpLoad[] = [];
    for (const [, path] of steps) {
      await httpLoad(pieces.url + path, { connections: conns, seconds: 1, headers });
      pieceRuns.push(
        await httpLoad(pieces.url + path, { connections: conns, seconds: pieceSeconds, headers }),
      );
    }
    const floorRps = median(runs.map((r) => r.bare.reqPerSec));
    steps.forEach(([label], i) => {
      const l = pieceRuns[i]!;
      piecesRows.push([
        label,
        fmt.int(l.reqPerSec),
        fmt.ms(l.p50Ms),
        fmt.ms(l.p99Ms),
        fmt.ratio(l.reqPerSec / floorRps),
      ]);
    });

    const ratios = runs.map((r) => r.me.reqPerSec / r.bare.reqPerSec);
    const ratio = median(ratios);
    const tool = runs[0]!.me.tool;
    const medOf = (k: "me" | "bare", f: "reqPerSec" | "p50Ms" | "p99Ms") =>
      median(runs.map((r) => r[k][f]));
    const text = [
      `Load: ${tool}${tool === "wrk" ? " -t2" : ""}, ${conns} connections, ${seconds} s per measurement, after a warm-up; each server is a separate \`bun\` process (Bun.serve) from the load generator. ` +
        `/users/me: the real entry (app/server.ts, NODE_ENV=production, all default plugins) with a bearer token; the user is cached (cache misses during the runs: ${Number.isFinite(missesAfter - missesBefore) ? missesAfter - missesBefore : "n/a"}), has no listings or favorites (served by the list cache, no MongoDB call); the bare route MGETs the same ${1 + listKeys.length} keys. ` +
        `Response sizes: /users/me ${bytesMe} B, bare ${bytesBare} B. Non-2xx or socket errors over all runs: ${bad}.`,
      "",
      table(
        ["route", "req/s", "p50 ms", "p99 ms", "ratio ours/bare (req/s; min–max)"],
        [
          [
            "bare Hono: one MGET (user + its list entries) + JSON.parse + c.json",
            fmt.int(medOf("bare", "reqPerSec")),
            fmt.ms(medOf("bare", "p50Ms")),
            fmt.ms(medOf("bare", "p99Ms")),
            "",
          ],
          [
            "GET /api/v1/users/me (cached)",
            fmt.int(medOf("me", "reqPerSec")),
            fmt.ms(medOf("me", "p50Ms")),
            fmt.ms(medOf("me", "p99Ms")),
            `${fmt.ratio(ratio)} (${minMax(ratios)
              .map((v) => v.toFixed(2))
              .join("–")})`,
          ],
        ],
      ),
      "",
      `Breakdown (bench/servers/pieces.ts: the same app with bench-only routes, one run of ${pieceSeconds} s each; ratio against the bare route's median above):`,
      "",
      table(["route", "req/s", "p50 ms", "p99 ms", "vs bare"], piecesRows),
    ].join("\n");
    return {
      id: "http",
      title: "3. HTTP",
      body: text,
      targets: [
        {
          left: "per-request CPU, not round trips (64 connections on 2 shared cores: CPU-bound; /users/me now needs one round trip as the floor does, two with listings): four Redis commands against the floor's one MGET — the user, write-behind's overlay (an explicit pipeline on standalone, its own socket write) and the two lists, each with ioredis's per-command timer — then the session check and the app-wide middleware (request id, secure headers, body limit, stale and read-your-writes scopes, lastSeen; breakdown below)",
          name: "HTTP cached profile ≥ 0.7× bare route",
          value: fmt.ratio(ratio),
          target: "≥ 0.70×",
          met: ratio >= 0.7,
        },
      ],
    };
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    await env.close();
  }
};

/** cachesync cache-miss counter from /metrics (NaN when it cannot be read). */
async function cacheMisses(base: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^(\w*cache_misses\w*)(?:\{[^}]*\})?\s+([\d.e+]+)$/m.exec(text);
    return m ? Number(m[2]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
