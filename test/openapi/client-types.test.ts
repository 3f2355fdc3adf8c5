import { describe, expect, test } from "bun:test";
import { CLIENT_TYPES_PATH, generateClientTypes } from "../../scripts/gen-client";

/**
 * The committed client types are what openapi-typescript makes of today's document: a route
 * changed without `bun run gen:client` fails here, before a consumer's build does.
 */
describe("cachesync/client types", () => {
  test("src/client/api.d.ts is generated from the current /openapi.json", async () => {
    const committed = await Bun.file(CLIENT_TYPES_PATH).text();
    const fresh = await generateClientTypes();
    if (fresh !== committed)
      console.error("src/client/api.d.ts is stale: run `bun run gen:client`");
    expect(fresh === committed).toBe(true);
  }, 60_000);
});
