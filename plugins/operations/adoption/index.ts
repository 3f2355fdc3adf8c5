import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { doctorHandler } from "./doctor.handlers";
import { doctorRoute } from "./doctor.routes";
import { warnIfNotAdopted } from "./startup-probe";

export { runDoctor } from "./doctor/scan";
export { runMigration } from "./migrate/run";

/**
 * Adoption on an existing database: the doctor's report for admins (`GET /admin/doctor`) and a
 * start-up warning when documents break the invariants. The CLIs (`bun run doctor`,
 * `bun run migrate`) run the same code without the HTTP server.
 */
export function adoptionPlugin(): Plugin {
  return {
    name: "adoption",
    dependencies: ["auth"],
    routes(ctx) {
      return createRouter().openapi(doctorRoute(ctx.use("auth")), doctorHandler(ctx));
    },
    async onReady(ctx) {
      // A warning, never a failed start: the API serves such documents (see legacy-api tests).
      await warnIfNotAdopted(ctx).catch((err: unknown) =>
        ctx.logger.warn({ err }, "could not probe the database for documents to adopt"),
      );
    },
  };
}
