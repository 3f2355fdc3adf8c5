import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  bun: string;
  redisServer: string;
  wrk: string | null;
  packages: Record<string, string>;
  date: string;
}

const ROOT = join(import.meta.dir, "..", "..");

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function run(cmd: string[]): string {
  try {
    const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return `${p.stdout.toString()}${p.stderr.toString()}`.trim();
  } catch {
    return "";
  }
}

export function packageVersion(name: string): string {
  const raw = read(join(ROOT, "node_modules", name, "package.json"));
  try {
    return (JSON.parse(raw) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** CPU, cores and RAM from /proc; versions of everything the figures depend on. */
export function machineInfo(): MachineInfo {
  const cpuinfo = read("/proc/cpuinfo");
  const models = [...cpuinfo.matchAll(/^model name\s*:\s*(.+)$/gm)].map((m) => m[1]?.trim() ?? "");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(read("/proc/meminfo"))?.[1] ?? 0);
  const redis = /v=(\S+)/.exec(run(["redis-server", "--version"]))?.[1] ?? "unknown";
  const wrkBin = Bun.which("wrk");
  const wrk = wrkBin ? (/wrk (\S+)/.exec(run([wrkBin, "--version"]))?.[1] ?? "present") : null;
  const packages: Record<string, string> = {};
  for (const name of [
    "hono",
    "ioredis",
    "mongodb",
    "bentocache",
    "cache-manager",
    "keyv",
    "@keyv/redis",
    "@redis/client",
    "autocannon",
  ]) {
    packages[name] = packageVersion(name);
  }
  return {
    cpu: models[0] ?? "unknown",
    cores: models.length || navigator.hardwareConcurrency,
    ramGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    kernel: read("/proc/sys/kernel/osrelease").trim() || "unknown",
    bun: Bun.version,
    redisServer: redis,
    wrk,
    packages,
    date: new Date().toISOString(),
  };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssOf(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(read(`/proc/${pid}/status`))?.[1] ?? Number.NaN);
  return kb * 1024;
}
