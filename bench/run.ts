/**
 * `bun run bench [-- --quick] [--only read,peers,http,write,approve,sse,cluster,soak,outside,near,write-behind,history] [--runs N] [--topology both|standalone|cluster] [--out PATH]`
 *
 * Runs each selected section (one per figure, bench/sections/*.ts) on a standalone redis-server,
 * then the sections with the issue's targets (ON_CLUSTER) again on a Redis Cluster, and
 * regenerates bench/RESULTS.md: machine, versions, settings, the targets table of each topology,
 * then each section's figures.
 * A quick or partial run writes bench/results/partial-<timestamp>.md instead (lib/results-path).
 * Not part of `bun test`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { machineInfo } from "./lib/machine";
import {
  metMark,
  type Section,
  type SectionContext,
  type SectionResult,
  table,
} from "./lib/report";
import { defaultResultsPath } from "./lib/results-path";
import { type BenchTopology, setBenchTopology } from "./lib/topology";

const SECTIONS: Record<string, { title: string; load: () => Promise<Section> }> = {
  read: { title: "Read path", load: async () => (await import("./sections/read")).readSection },
  peers: {
    title: "Peers on the same Redis",
    load: async () => (await import("./sections/peers")).peersSection,
  },
  http: { title: "HTTP", load: async () => (await import("./sections/http")).httpSection },
  write: { title: "Write path", load: async () => (await import("./sections/write")).writeSection },
  approve: {
    title: "Deposit approvals",
    load: async () => (await import("./sections/approve")).approveSection,
  },
  sse: { title: "SSE fan-out", load: async () => (await import("./sections/sse")).sseSection },
  cluster: {
    title: "Redis Cluster beside standalone",
    load: async () => (await import("./sections/cluster")).clusterSection,
  },
  soak: {
    title: "Consistency soak",
    load: async () => (await import("./sections/soak")).soakSection,
  },
  near: {
    title: "Near cache and observatory",
    load: async () => (await import("./sections/near")).nearSection,
  },
  history: {
    title: "History checker over the fault proxy (long run)",
    load: async () => (await import("./sections/history")).historySection,
  },
  outside: {
    title: "Outside writes (change streams)",
    load: async () => (await import("./sections/outside-writes")).outsideWritesSection,
  },
  "write-behind": {
    title: "Write-behind view counters",
    load: async () => (await import("./sections/write-behind")).writeBehindSection,
  },
};

/**
 * The sections whose targets must hold on a Redis Cluster too: run again there (3 masters + 3
 * replicas, local processes; floors on an ioredis Cluster client), same machine, after the
 * standalone pass.
 */
const ON_CLUSTER = ["read", "http", "write", "approve"];

interface Args {
  quick: boolean;
  topologies: BenchTopology[];
  only: string[];
  runs: number;
  out: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    quick: false,
    topologies: ["standalone", "cluster"],
    only: Object.keys(SECTIONS),
    runs: 3,
    out: undefined,
  };
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v as string;
    };
    if (a === "--") continue;
    else if (a === "--quick") args.quick = true;
    else if (a.startsWith("--only"))
      args.only = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith("--runs")) {
      args.runs = Number(value());
      runsGiven = true;
    } else if (a.startsWith("--topology")) {
      const t = value();
      if (t !== "both" && t !== "standalone" && t !== "cluster")
        fail("--topology is both, standalone or cluster");
      args.topologies = t === "both" ? ["standalone", "cluster"] : [t];
    } else if (a.startsWith("--out")) args.out = value();
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: bun run bench [-- --quick] [--only read,peers,http,write,approve,sse,cluster,soak,outside,near,write-behind,history] [--runs N] [--topology both|standalone|cluster] [--out PATH]",
      );
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  if (args.quick && !runsGiven) args.runs = 1;
  if (!Number.isInteger(args.runs) || args.runs < 1) fail("--runs must be a positive integer");
  for (const s of args.only)
    if (!SECTIONS[s]) fail(`unknown section "${s}" (known: ${Object.keys(SECTIONS).join(", ")})`);
  return args;
}

function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
const out =
  args.out ??
  defaultResultsPath(import.meta.dir, {
    quick: args.quick,
    sections: new Set(args.only).size,
    allSections: Object.keys(SECTIONS).length,
    runs: args.runs,
  });
console.log(`results → ${out}`);
const machine = machineInfo();
const started = performance.now();
// Other work on the machine moves every figure; the load around the run is printed with them.
const loadAtStart = loadavg()[0] ?? 0;
const ctx: SectionContext = {
  quick: args.quick,
  runs: args.runs,
  scale: args.quick ? 0.3 : 1,
  log: (msg) => console.log(`  ${msg}`),
};

const results: Record<BenchTopology, SectionResult[]> = { standalone: [], cluster: [] };
for (const topology of args.topologies) {
  setBenchTopology(topology);
  const ids = Object.keys(SECTIONS).filter(
    (s) => args.only.includes(s) && (topology === "standalone" || ON_CLUSTER.includes(s)),
  );
  for (const id of ids) {
    const spec = SECTIONS[id]!;
    console.log(`▶ ${id}: ${spec.title}${topology === "cluster" ? " (on Redis Cluster)" : ""}`);
    const t0 = performance.now();
    try {
      const section = await spec.load();
      const res = await section(ctx);
      results[topology].push(res);
      for (const t of res.targets)
        console.log(`  ${t.name}: ${t.value} (target ${t.target}) ${metMark(t.met)}`);
    } catch (err) {
      const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.error(`  ${id} failed: ${msg}`);
      results[topology].push({
        id,
        title: spec.title,
        body: `Section failed in this run:\n\n\`\`\`\n${msg.slice(0, 2000)}\n\`\`\``,
        targets: [],
      });
    }
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

const totalS = (performance.now() - started) / 1000;
const loadAtEnd = loadavg()[0] ?? 0;
const pkgs = Object.entries(machine.packages)
  .map(([k, v]) => `${k} ${v}`)
  .join(", ");
const targetRows = (rs: SectionResult[]) =>
  rs.flatMap((r) =>
    r.targets.map((t) => [
      t.name,
      t.value,
      t.target,
      metMark(t.met),
      t.met === false ? (t.left ?? "") : "",
    ]),
  );
const targetTable = (rs: SectionResult[]) => {
  const rows = targetRows(rs);
  return rows.length
    ? table(["figure", "measured", "target", "status", "what is left (profiled)"], rows)
    : "_no section produced a target_";
};
const onCluster = results.cluster.length
  ? [
      "## Targets on Redis Cluster",
      "",
      `The sections with targets (${ON_CLUSTER.join(", ")}) run again with every Redis of the run — the app's, the floors', the peers' — on a Redis Cluster of 3 masters + 3 replicas (local \`redis-server --cluster-enabled yes\` processes on the same 2 cores; the floors on an ioredis Cluster client, a multi-key read split per slot as the adapter does). Their figures are in the sections "… on Redis Cluster" at the end (where their text says "redis-server", read: the cluster).`,
      "",
      targetTable(results.cluster),
      "",
    ]
  : [];
const md = [
  "# Benchmarks",
  "",
  `Generated by \`bun run bench${
    process.argv.length > 2
      ? ` -- ${process.argv
          .slice(2)
          .filter((a) => a !== "--")
          .join(" ")}`
      : ""
  }\` on ${machine.date} in ${totalS.toFixed(0)} s. Regenerate with the same command; \`-- --quick\` for a smoke run, \`-- --only read,http\` for some sections.`,
  "",
  "## Machine and versions",
  "",
  `- CPU: ${machine.cpu}, ${machine.cores} cores; RAM ${machine.ramGiB} GiB; Linux ${machine.kernel}`,
  `- Bun ${machine.bun}; redis-server ${machine.redisServer}; wrk ${machine.wrk ?? "not installed (autocannon used)"}`,
  `- Packages: ${pkgs}`,
  "- MongoDB: the project's wire-protocol test server (test/support/mongo-wire, official driver 7 talking OP_MSG to the embedded engine), **not mongod**: MongoDB-bound figures show this stack's overhead relative to the same server, not MongoDB's absolute speed.",
  `- Runs: ${args.runs} per figure${args.quick ? " (quick mode: windows shortened to 30 %)" : ""}; figures are medians over runs, ratios are computed within each run and their median is shown (min–max beside it where useful).`,
  "- Everything (load generator, API process, redis-server, MongoDB test server) shares the same 2 cores, so absolute numbers are low and noisy; the ratios are the point.",
  `- Load average (1 min) at the start and the end of the run: ${loadAtStart.toFixed(1)} / ${loadAtEnd.toFixed(1)} on ${machine.cores} cores (other work on the machine; min–max columns show what it did to the ratios).`,
  "",
  results.standalone.length ? "## Targets (standalone Redis)" : "",
  "",
  results.standalone.length ? targetTable(results.standalone) : "",
  "",
  ...onCluster,
  ...results.standalone.flatMap((r) => [`## ${r.title}`, "", r.body, ""]),
  ...results.cluster.flatMap((r) => [`## ${r.title} — on Redis Cluster`, "", r.body, ""]),
].join("\n");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(`wrote ${out} (${totalS.toFixed(0)} s)`);
process.exit(0);
