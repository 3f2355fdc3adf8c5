/**
 * `cachesync/client` for browsers: one ES module built from src/client with Bun's bundler, so
 * the page imports the same typed client (minus types) from its own origin, with no build step
 * in the repository and nothing committed that could drift. Built once per process, on first use.
 */
let built: Promise<string> | undefined;

export function browserClientBundle(): Promise<string> {
  built ??= (async () => {
    const out = await Bun.build({
      entrypoints: [new URL("./index.ts", import.meta.url).pathname],
      target: "browser",
      format: "esm",
      minify: true,
    });
    const [file] = out.outputs;
    if (!out.success || !file) {
      built = undefined;
      throw new AggregateError(out.logs, "building the browser client failed");
    }
    return file.text();
  })();
  return built;
}
