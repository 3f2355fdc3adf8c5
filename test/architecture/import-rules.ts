/**
 * Who may import whom, by role. When folders move, update this table, not the checker.
 *
 * A path's role is the first row whose `under` prefix it starts with (so list deeper folders
 * first). Paths in no row (tests, bench, scripts) are unconstrained; the composition root
 * (`app/`) may import anything and nothing may import it.
 */
export interface RoleRule {
  role: string;
  under: string;
  /** Roles this one must never import. */
  mayNotImport: readonly string[];
}

export const ROLES: readonly RoleRule[] = [
  {
    role: "core",
    under: "src/core/",
    mayNotImport: ["plugin", "adapter", "domain", "client", "root"],
  },
  { role: "adapter", under: "src/adapters/", mayNotImport: ["plugin", "domain", "root"] },
  { role: "domain", under: "src/domain/", mayNotImport: ["plugin", "adapter", "root"] },
  // The typed HTTP client ships to browsers and other apps: it stands alone.
  {
    role: "client",
    under: "src/client/",
    mayNotImport: ["core", "adapter", "domain", "plugin", "root"],
  },
  { role: "plugin", under: "plugins/", mayNotImport: ["root"] },
  { role: "root", under: "app/", mayNotImport: [] },
];

/**
 * Folders that hold one plugin per child folder: the cache layers, the product's features and the
 * operator's surfaces (`plugins/<group>/<name>/`). A plugin is named by its folder alone.
 */
export const PLUGIN_FOLDERS: readonly string[] = [
  "plugins/cache/",
  "plugins/features/",
  "plugins/operations/",
];

/**
 * Files of a plugin other plugins may import besides its `index.ts`: its declared public
 * surface. Keep each entry's reason; an empty list is the goal.
 */
export const PUBLIC_FILES: Readonly<Record<string, readonly string[]>> = {
  // The cache layers and the declarations build on the engine: the declaration API
  // (defineCachedCollection), the per-collection cache and its registry (which each declaration
  // augments), the users engine, the key layout, the tombstone version and the stale marker.
  // Through files, not index.ts: a declaration is imported by cache-sync's index itself.
  "cache-sync": [
    "collection.ts",
    "collection-cache.ts",
    "registry.ts",
    "engine.ts",
    "core.ts",
    "keys.ts",
    "stale-scope.ts",
    // What the engine's read path shares with read-your-writes and the near cache: the
    // request's version floor and the near layer's shape.
    "read-floor.ts",
    "near-layer.ts",
  ],
  // The bus subscription retried in the background, reused by the near cache's invalidations.
  observatory: ["feed.ts"],
  // The users declaration, which cache-sync registers by default.
  users: ["collection.ts"],
  // The sensitive field list the change stream and the doctor hide, as the sanitizer does.
  sanitize: ["sanitize-user.ts"],
};

/** Known breaks, each with the reason it stays for now (`from -> to`, repository paths). */
export const ALLOWED_EXCEPTIONS: Readonly<Record<string, string>> = {};

/**
 * Plugins that may use the raw stores (`ctx.stores`): the sync layer and operator commands.
 * Every other plugin works through the repository and the context's services.
 */
export const RAW_STORE_USERS: readonly string[] = [
  // The cache layers and the sync engine under them.
  "cache-sync",
  "write-through",
  "write-behind",
  "near-cache",
  "change-streams",
  // Operator surfaces: the cache admin routes (key counts by SCAN), the doctor and migration.
  "admin-cache",
  "adoption",
  // Observes what each layer holds, so it must read the stores as they are (no hooks, no fill).
  "observatory",
  // Wraps the cache port's commands in spans when OTEL_TRACES is on (nothing otherwise).
  "tracing",
  // The ledger drain's bulk writes (rows, guard pulls): one command per batch, and no hook has
  // anything to do with them; the repository has no bulk write (wallet/balance/outbox.ts).
  "wallet",
];
