import { type CacheSyncOptions, cacheSyncPlugin } from "../plugins/cache/cache-sync";
import { changeStreamsPlugin } from "../plugins/cache/change-streams";
import { eventsPlugin } from "../plugins/cache/events";
import { nearCachePlugin } from "../plugins/cache/near-cache";
import { readYourWritesPlugin } from "../plugins/cache/read-your-writes";
import { sanitizePlugin } from "../plugins/cache/sanitize";
import { versioningPlugin } from "../plugins/cache/versioning";
import { writeBehindPlugin } from "../plugins/cache/write-behind";
import { writeThroughPlugin } from "../plugins/cache/write-through";
import { authPlugin } from "../plugins/features/auth";
import { docsPlugin } from "../plugins/features/docs";
import { listingsPlugin } from "../plugins/features/listings";
import { profilePlugin } from "../plugins/features/profile";
import { ssePlugin } from "../plugins/features/sse";
import { walletPlugin } from "../plugins/features/wallet";
import { webPlugin } from "../plugins/features/web";
import { adminCachePlugin } from "../plugins/operations/admin-cache";
import { adoptionPlugin } from "../plugins/operations/adoption";
import { consistencyCheckPlugin } from "../plugins/operations/consistency-check";
import { httpGuardPlugin } from "../plugins/operations/http-guard";
import { metricsPlugin } from "../plugins/operations/metrics";
import { observatoryPlugin } from "../plugins/operations/observatory";
import { opsPlugin } from "../plugins/operations/ops";
import { tracingPlugin } from "../plugins/operations/tracing";
import type { Plugin } from "../src/core/plugin";

/**
 * The sync layer alone (no routes, no accounts): what a write needs to bump the version, reach
 * Redis and publish its event. Operator commands such as `bun run migrate` run on it.
 */
export function syncLayerPlugins(options: CacheSyncOptions = {}): Plugin[] {
  return [
    // No hooks: first so its body cap and headers wrap every other middleware and route.
    httpGuardPlugin(),
    sanitizePlugin(),
    cacheSyncPlugin(options),
    eventsPlugin(),
    readYourWritesPlugin(),
    // Between events and write-through: its read hooks see cache hits (docs/WRITE-BEHIND.md).
    writeBehindPlugin(),
    writeThroughPlugin(),
    versioningPlugin(),
  ];
}

/**
 * The product's plugin list. Each hook names its phase (src/core/hooks.ts): the filter guard and
 * MongoDB's health watch wrap reads and writes, versioning runs before writes, write-through
 * after them, events once every cache has the write, sanitizing on every result. Within one
 * phase, load order. Each plugin adds its own line.
 */
export function defaultPlugins(options: CacheSyncOptions = {}): Plugin[] {
  return [
    ...syncLayerPlugins(options),
    authPlugin(),
    listingsPlugin(),
    profilePlugin(),
    walletPlugin(),
    opsPlugin(),
    metricsPlugin(),
    adminCachePlugin(),
    ssePlugin(),
    consistencyCheckPlugin(),
    observatoryPlugin(),
    nearCachePlugin(),
    adoptionPlugin(),
    changeStreamsPlugin(),
    docsPlugin(),
    webPlugin(),
    // Last: its MongoDB spans are the innermost hooks, right around the store.
    tracingPlugin(),
  ];
}
