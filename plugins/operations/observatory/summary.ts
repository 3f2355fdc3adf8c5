import { z } from "@hono/zod-openapi";

export const ConsistencyBoundSchema = z.object({
  afterMs: z.number().int().openapi({ description: "Re-check time after the acknowledgement" }),
  checked: z.number().int(),
  consistent: z.number().int().openapi({
    description:
      "Re-checks at which every cache layer (Redis, near) held MongoDB's version, or nothing",
  }),
  stale: z.number().int(),
  errors: z.number().int().openapi({ description: "Re-checks a store failed to answer" }),
  share: z
    .number()
    .nullable()
    .openapi({ description: "consistent / (consistent + stale); null before any" }),
});

export const ConsistencySummarySchema = z
  .object({
    sampleRate: z.number().openapi({ description: "OBSERVATORY_SAMPLE_RATE" }),
    sampled: z
      .number()
      .int()
      .openapi({ description: "Writes sampled by this instance since start" }),
    pending: z.number().int().openapi({ description: "Sampled writes still being re-checked" }),
    bounds: z.array(ConsistencyBoundSchema),
    staleness: z.object({
      within: z
        .array(z.object({ leMs: z.number().int(), count: z.number().int() }))
        .openapi({ description: "Sampled writes first found consistent at each bound" }),
      unresolved: z.number().int().openapi({ description: "Still stale at the last bound" }),
    }),
  })
  .openapi("ConsistencySummary", {
    description:
      "The consistency observatory on this instance (docs/OBSERVATORY.md): sampled acknowledged writes re-checked against MongoDB at each bound",
  });

export type ConsistencySummary = z.infer<typeof ConsistencySummarySchema>;
export type ConsistencyBound = z.infer<typeof ConsistencyBoundSchema>;
