import { createRouter, type Plugin } from "cachesync";

/** Counts user writes by operation and serves the counts. Registered by a line in src/plugins.ts. */
export function auditPlugin(): Plugin {
  const writes: Record<string, number> = {};
  return {
    name: "audit",
    dependencies: ["sanitize"], // must come earlier in the list; checked at start-up
    hooks: [
      {
        collection: "users", // omit collection/op/kind for a catch-all
        kind: "write",
        run: async (call, next) => {
          const result = await next(); // call next() once (twice throws)
          writes[call.op] = (writes[call.op] ?? 0) + 1;
          return result; // or rewrite it
        },
      },
    ],
    // Mounted at /api/v1 (set basePath to change). createRoute() routes also reach /openapi.json.
    routes: () => createRouter().get("/audit/writes", (c) => c.json({ success: true, writes })),
    onReady: (ctx) => ctx.logger.info("audit plugin ready"),
  };
}
