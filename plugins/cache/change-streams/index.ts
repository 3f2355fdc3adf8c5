import { setupError } from "../../../src/core/errors";
import type { Plugin } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";
import { DEFAULT_SENSITIVE_FIELDS } from "../sanitize/sanitize-user";
import { ChangeApplier } from "./apply";
import { StreamConsumer, type StreamStatus } from "./consumer";
import { streamMetrics } from "./metrics";
import { StreamPosition } from "./position";
import { Reconciler } from "./reconcile";

export type { StreamState, StreamStatus } from "./consumer";
export { POSITION_COLLECTION } from "./position";

/** What /ready shows: the mode, and the consumer's status when it runs. */
export interface ChangeStreamReport extends Partial<StreamStatus> {
  mode: "off" | "unsupported" | "on";
}

declare module "../../../src/core/plugin" {
  interface Services {
    changeStreams: { report(): ChangeStreamReport };
  }
}

export interface ChangeStreamsOptions {
  /** Lease length: a dead consumer is replaced within about this long (default 5 s). */
  leaseMs?: number;
  /** Least time between two full reconciles (default 60 s). */
  reconcileIntervalMs?: number;
  /** Test only (refused unless NODE_ENV=test): apply events without the ordering protection. */
  unsafeWithoutOrdering?: boolean;
}

/**
 * Writes made straight to MongoDB reach the cache (SPEC §8): one instance at a time consumes
 * the change stream of the cached collections (a fenced lease in MongoDB, taken over within
 * `leaseMs` when its holder dies), applies each change through the versioned paths, and stores
 * the position after applying so a restart or another instance resumes there.
 * `CHANGE_STREAMS=auto` runs it where the deployment supports change streams.
 */
export function changeStreamsPlugin(options: ChangeStreamsOptions = {}): Plugin {
  let consumer: StreamConsumer | null = null;
  let mode: ChangeStreamReport["mode"] = "off";
  return {
    name: "change-streams",
    dependencies: ["cache-sync"],
    register(ctx) {
      if (options.unsafeWithoutOrdering && ctx.config.NODE_ENV !== "test")
        throw setupError(
          "CS_ERR_TEST_ONLY",
          "unsafeWithoutOrdering is a test switch (NODE_ENV=test only)",
        );
      ctx.provide("changeStreams", {
        report: () => ({ mode, ...(consumer ? consumer.status : {}) }),
      });
    },
    async onReady(ctx) {
      const setting = ctx.config.CHANGE_STREAMS;
      if (setting === "off") return;
      const supported = await ctx.stores.db.supportsChangeStreams().catch((err: unknown) => {
        if (setting === "on") throw err;
        return false;
      });
      if (!supported) {
        if (setting === "on")
          throw setupError(
            "CS_ERR_CHANGE_STREAMS_UNSUPPORTED",
            "CHANGE_STREAMS=on but this MongoDB cannot open change streams: they need a replica set or a sharded cluster (a single node works: mongod --replSet rs0, or bun run mongo:test-server --replSet rs0)",
          );
        mode = "unsupported";
        ctx.logger.warn(
          "MongoDB is a standalone: change streams are off, so writes made outside this service reach the cache only through TTLs and the periodic consistency check (CHANGE_STREAMS=off silences this)",
        );
        return;
      }
      mode = "on";
      const engine = ctx.use("cacheEngine");
      const metrics = streamMetrics(ctx.metrics);
      const leaseMs = options.leaseMs ?? 5000;
      const lists = ctx.has("ownerLists") ? ctx.use("ownerLists") : undefined;
      const applier = new ChangeApplier(ctx, engine, {
        hidden: new Set<string>([...DEFAULT_SENSITIVE_FIELDS, ...ctx.config.SENSITIVE_FIELDS]),
        ordering: !options.unsafeWithoutOrdering,
        lists,
      });
      const reconciler = new Reconciler(
        ctx,
        engine,
        applier,
        options.reconcileIntervalMs ?? 60_000,
        metrics,
      );
      const position = new StreamPosition(
        ctx.stores.db,
        "cache",
        `${crypto.randomUUID().slice(0, 8)}@${process.pid}`,
        leaseMs,
      );
      consumer = new StreamConsumer(ctx, position, applier, reconciler, metrics, {
        collections: [
          ...new Set([
            USER_COLLECTION,
            ...ctx
              .use("cache")
              .declarations()
              .map((d) => d.name),
            ...(lists?.collections ?? []),
          ]),
        ],
        // One wait is a socket read: it must end well inside the store's timeout.
        maxAwaitMs: Math.max(20, Math.min(1000, Math.floor(ctx.config.MONGO_TIMEOUT_MS / 2))),
        saveEveryMs: 200,
        idleSaveEveryMs: 30_000,
        renewEveryMs: Math.floor(leaseMs / 3),
        retryMs: Math.min(1000, Math.floor(leaseMs / 3)),
      });
      consumer.start();
    },
    async onClose() {
      await consumer?.stop();
    },
  };
}
