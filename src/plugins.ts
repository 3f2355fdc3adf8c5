import { adminCachePlugin } from "../plugins/admin-cache";
import { adoptionPlugin } from "../plugins/adoption";
import { authPlugin } from "../plugins/auth";
import { type CacheSyncOptions, cacheSyncPlugin, ownerListsPlugin } from "../plugins/cache-sync";
import { changeStreamsPlugin } from "../plugins/change-streams";
import { consistencyCheckPlugin } from "../plugins/consistency-check";
import { docsPlugin } from "../plugins/docs";
import { eventsPlugin } from "../plugins/events";
import { httpGuardPlugin } from "../plugins/http-guard";
import { listingsPlugin } from "../plugins/listings";
import { metricsPlugin } from "../plugins/metrics";
import { nearCachePlugin } from "../plugins/near-cache";
import { observatoryPlugin } from "../plugins/observatory";
import { opsPlugin } from "../plugins/ops";
import { PROFILE_LISTS, profilePlugin } from "../plugins/profile";
import { readYourWritesPlugin } from "../plugins/read-your-writes";
import { sanitizePlugin } from "../plugins/sanitize";
import { ssePlugin } from "../plugins/sse";
import { tracingPlugin } from "../plugins/tracing";
import { versioningPlugin } from "../plugins/versioning";
import { walletPlugin } from "../plugins/wallet";
import { webPlugin } from "../plugins/web";
import { writeBehindPlugin } from "../plugins/write-behind";
import { writeThroughPlugin } from "../plugins/write-through";
import type { Plugin } from "./core/plugin";

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
    ownerListsPlugin({ lists: PROFILE_LISTS }),
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
