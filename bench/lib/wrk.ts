import { join } from "node:path";

export interface HttpLoad {
  tool: "wrk" | "autocannon";
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

const toMs = (v: string, unit: string) =>
  Number(v) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 1);

/**
 * HTTP load from a separate process: wrk when installed (`apt-get install -y wrk`), otherwise
 * autocannon (dev dependency) run as its own `bun` process.
 */
export async function httpLoad(
  url: string,
  opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<HttpLoad> {
  const wrk = Bun.which("wrk");
  const headerArgs = Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  if (wrk) {
    const proc = Bun.spawn(
      [wrk, "-t2", `-c${opts.connections}`, `-d${opts.seconds}s`, "--latency", ...headerArgs, url],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [out, err] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    await proc.exited;
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
    const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
    const reqs = /(\d+) requests in/.exec(out);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
    const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
      out,
    );
    if (!rps || !p50 || !p99) throw new Error(`could not parse wrk output: ${out}\n${err}`);
    return {
      tool: "wrk",
      reqPerSec: Number(rps[1]),
      p50Ms: toMs(p50[1] as string, p50[2] as string),
      p99Ms: toMs(p99[1] as string, p99[2] as string),
      requests: Number(reqs?.[1] ?? 0),
      non2xx: Number(non2xx?.[1] ?? 0),
      errors: sockErr ? sockErr.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
    };
  }
  const bin = join(import.meta.dir, "..", "..", "node_modules", "autocannon", "autocannon.js");
  const args = [
    "bun",
    bin,
    "-j",
    "-c",
    String(opts.connections),
    "-d",
    String(opts.seconds),
    ...Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}=${v}`]),
    url,
  ];
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const j = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  return {
    tool: "autocannon",
    reqPerSec: j.requests.average,
    p50Ms: j.latency.p50,
    p99Ms: j.latency.p99,
    requests: j.requests.total,
    non2xx: j.non2xx,
    errors: j.errors,
  };
}
