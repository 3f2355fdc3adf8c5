import type { Subprocess } from "bun";
import { freePort } from "../support/free-port";
import { until } from "./helpers";

/** A real `bun start` process, so a test can kill it -9 mid-burst like a crash. */
export interface ApiProcess {
  url: string;
  proc: Subprocess;
  /** /ready's changeStream object. */
  stream(): Promise<Record<string, unknown> | null>;
  /** Prometheus text of /metrics. */
  metrics(): Promise<string>;
  kill(): Promise<void>;
}

export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const base = { ...(process.env as Record<string, string>) };
  delete base.MONGO_URL;
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], {
    env: {
      ...base,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: String(port),
      JWT_SECRET: "test-secret-test-secret-0123456789",
      CONSISTENCY_CHECK_INTERVAL_SECONDS: "0",
      CHANGE_STREAMS: "on",
      ...env,
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const api: ApiProcess = {
    url,
    proc,
    async stream() {
      const res = await fetch(`${url}/ready`).catch(() => null);
      if (!res) return null;
      const body = (await res.json()) as { data?: { changeStream?: Record<string, unknown> } };
      return body.data?.changeStream ?? null;
    },
    async metrics() {
      return (await fetch(`${url}/metrics`)).text();
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  await until(async () => {
    const s = await api.stream();
    return s?.state === "streaming" || s?.state === "standby";
  }, 20_000);
  return api;
}

/** The value of one Prometheus series in `text`, 0 when absent. */
export function series(text: string, name: string): number {
  const escaped = name.replace(/[{}"=,]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
}
