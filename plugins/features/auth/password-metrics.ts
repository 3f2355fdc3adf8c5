import { Gauge, type Registry } from "prom-client";
import type { Passwords } from "./passwords";

/**
 * `cachesync_password_jobs{kind="hash"|"verify", state="active"|"queued"}`: a growing hash queue
 * is a registration burst being absorbed; a verify queue means logins are waiting on argon2.
 */
export function passwordJobsGauge(registry: Registry, load: Passwords["load"]): Gauge {
  return new Gauge({
    name: "cachesync_password_jobs",
    help: "argon2 hashes (new passwords) and verifications (logins), running or queued",
    labelNames: ["kind", "state"] as const,
    registers: [registry],
    collect() {
      const now = load();
      for (const kind of ["hash", "verify"] as const) {
        this.set({ kind, state: "active" }, now[kind].active);
        this.set({ kind, state: "queued" }, now[kind].queued);
      }
    },
  });
}
