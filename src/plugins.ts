import type { Plugin } from "./core/plugin";
import { cacheAsidePlugin } from "../plugins/cache-aside";
import { cacheSyncPlugin } from "../plugins/cache-sync";
import { eventsPlugin } from "../plugins/events";
import { sanitizePlugin } from "../plugins/sanitize";
import { versioningPlugin } from "../plugins/versioning";
import { writeThroughPlugin } from "../plugins/write-through";
import { authPlugin } from "../plugins/auth";
import { profilePlugin } from "../plugins/profile";
import { walletPlugin } from "../plugins/wallet";
import { opsPlugin } from "../plugins/ops";
import { metricsPlugin } from "../plugins/metrics";
import { adminCachePlugin } from "../plugins/admin-cache";
import { ssePlugin } from "../plugins/sse";
import { consistencyCheckPlugin } from "../plugins/consistency-check";
import { docsPlugin } from "../plugins/docs";
import { webPlugin } from "../plugins/web";
import { listCachePlugin } from "../plugins/list-cache";

/**
 * The product's plugin list, in hook order (outermost first): sanitize → events →
 * write-through → versioning → cache-aside → adapter. Each plugin adds its own line.
 */
export function defaultPlugins(): Plugin[] {
  return [
    sanitizePlugin(),
    cacheSyncPlugin(),
    eventsPlugin(),
    writeThroughPlugin(),
    versioningPlugin(),
    cacheAsidePlugin(),
    listCachePlugin(),
    authPlugin(),
    profilePlugin(),
    walletPlugin(),
    opsPlugin(),
    metricsPlugin(),
    adminCachePlugin(),
    ssePlugin(),
    consistencyCheckPlugin(),
    docsPlugin(),
    webPlugin(),
  ];
}
