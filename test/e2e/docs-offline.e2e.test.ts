import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server } from "bun";
import { type Browser, chromium } from "playwright-core";
import { createTestStack, type TestStack } from "../support/stack";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let stack: TestStack;
let server: Server<undefined>;
let browser: Browser;
let base = "";

beforeAll(async () => {
  stack = await createTestStack({ stores: "memory" });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r, s) => stack.app.fetch(r, s) });
  base = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop(true);
  await stack?.close();
});

test("/docs renders the API reference with no network beyond this server (offline)", async () => {
  const page = await browser.newPage();
  const outside: string[] = [];
  // The machine is offline as far as the page can tell: anything not from this origin fails.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith("data:") || url.startsWith("blob:"))
      return route.continue();
    outside.push(url);
    return route.abort("internetdisconnected");
  });
  await page.goto(`${base}/docs`);
  // Rendered by the viewer from /openapi.json (the HTML itself holds only the <title>).
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { info: { title: string } };
  await page.getByRole("heading", { name: doc.info.title }).first().waitFor({ timeout: 45_000 });
  expect(outside).toEqual([]);
  await page.close();
}, 90_000);
