import { createRouter, type Plugin } from "cachesync";

/** Counts user writes by operation and serves the counts. Registered by a line in app/plugins.ts. */
export function auditPlugin(): Plugin {
  const writes: Record<string, number> = {};
  return {
    name: "audit",
    dependencies: ["cache-sync"], // must come earlier in the list; checked at start-up
    hooks: [
      {
        phase: "afterWrite", // read | beforeWrite | write | afterWrite | announce | result
        collection: "users", // omit collection/op for every collection/operation of the phase
        run: (change) => {
          // MongoDB acknowledged it; change.after holds the documents as the write left them.
          writes[change.op] = (writes[change.op] ?? 0) + 1;
        },
      },
    ],
    // Mounted at /api/v1 (set basePath to change). createRoute() routes also reach /openapi.json.
    routes: () => createRouter().get("/audit/writes", (c) => c.json({ success: true, writes })),
    onReady: (ctx) => ctx.logger.info("audit plugin ready"),
  };
}
