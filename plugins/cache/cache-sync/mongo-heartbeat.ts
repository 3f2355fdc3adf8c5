import type { DocumentStore } from "../../../src/core/ports/document-store";
import type { CacheCore } from "./core";

/** As often as a load balancer would typically poll /ready: the stale mark lags by about this. */
export const MONGO_HEARTBEAT_MS = 1000;

/**
 * Cache hits never touch MongoDB, so without this the engine would learn that MongoDB is down
 * only when some other call failed — and serve cached users unmarked meanwhile, while /ready
 * already says "down". A ping per interval (never two at once) keeps `mongoDegraded()`, and so
 * `X-Cache-Stale`, on MongoDB's known state. Returns the stop function.
 */
export function startMongoHeartbeat(
  engine: Pick<CacheCore, "observeMongo">,
  db: DocumentStore,
  intervalMs = MONGO_HEARTBEAT_MS,
): () => void {
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    engine
      .observeMongo(db.ping())
      .catch(() => {
        // Recorded by observeMongo; the heartbeat has nobody to report to.
      })
      .finally(() => {
        inFlight = false;
      });
  }, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
