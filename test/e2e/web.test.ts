import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestStack, type TestStack } from "../support/stack";

describe("web plugin: the page and its assets", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack({ stores: "memory" });
  });
  afterAll(() => stack?.close());

  test("GET / is the page, locked to this origin by its CSP", async () => {
    const res = await stack.call("GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain('src="/app/main.js"');
  });

  test("assets under /app/* carry their content types", async () => {
    for (const [path, type] of [
      ["/app/main.js", "text/javascript; charset=utf-8"],
      ["/app/style.css", "text/css; charset=utf-8"],
    ] as const) {
      const res = await stack.call("GET", path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  test("the page imports cachesync/client, bundled from src/client and served from this origin", async () => {
    expect(await (await stack.call("GET", "/app/main.js")).text()).toContain(
      'from "/app/cachesync-client.js"',
    );
    const res = await stack.call("GET", "/app/cachesync-client.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const js = await res.text();
    for (const name of ["createCachesyncClient", "subscribeUserEvents", "unwrap", "ApiError"])
      expect(js).toMatch(new RegExp(`as ${name}[,}]`));
  });

  test("nothing outside public/ is reachable, however the path is spelled", async () => {
    for (const path of [
      "/app/..%2fpackage.json",
      "/app/..%2F..%2Fpackage.json",
      "/app/%2e%2e%2fsrc%2fplugins.ts",
      "/app/..%5cpackage.json",
      "/app/../package.json",
      "/app/%2e%2e/package.json",
      "/app/main.js%00.css",
      "/app/%E0%A4%A",
      "/app/",
      "/app/missing.js",
    ]) {
      const res = await stack.call("GET", path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(await res.text()).not.toContain('"name": "cachesync"');
    }
  });

  test("the API keeps its JSON 404 and the page stays out of /openapi.json", async () => {
    const res = await stack.call("GET", "/api/v1/nope");
    expect(res.status).toBe(404);
    expect((await res.json()).success).toBe(false);
    const doc = await (await stack.call("GET", "/openapi.json")).json();
    expect(Object.keys(doc.paths).some((p) => p === "/" || p.startsWith("/app"))).toBe(false);
  });
});
