import { Counter, Gauge, type Registry } from "prom-client";

export function defineNearMetrics(registry: Registry) {
  const registers = [registry];
  return {
    hits: new Counter({
      name: "cachesync_near_cache_hits_total",
      help: "Reads served from the in-process near cache, by collection",
      labelNames: ["collection"] as const,
      registers,
    }),
    misses: new Counter({
      name: "cachesync_near_cache_misses_total",
      help: "Near-cache look-ups that found nothing (the read went to Redis), by collection",
      labelNames: ["collection"] as const,
      registers,
    }),
    bypassed: new Counter({
      name: "cachesync_near_cache_bypassed_total",
      help: "Reads that skipped the near cache: feed unhealthy, or a balance-holding collection read without a version token",
      labelNames: ["collection"] as const,
      registers,
    }),
    drops: new Counter({
      name: "cachesync_near_cache_drops_total",
      help: "Whole near caches dropped after a feed gap, by collection and reason (trimmed, no-position)",
      labelNames: ["collection", "reason"] as const,
      registers,
    }),
    replayed: new Counter({
      name: "cachesync_near_cache_replayed_total",
      help: "Feed entries read forward from the last applied id after a disconnect",
      labelNames: ["collection"] as const,
      registers,
    }),
    publishFailures: new Counter({
      name: "cachesync_near_cache_publish_failures_total",
      help: "Feed entries a write could not publish (other instances learn of it by TTL)",
      labelNames: ["collection"] as const,
      registers,
    }),
    feedHealthy: new Gauge({
      name: "cachesync_near_cache_feed_healthy",
      help: "1 while the near-cache feed's heartbeats arrive on this instance",
      registers,
    }),
  };
}

export type NearMetrics = ReturnType<typeof defineNearMetrics>;
