/**
 * Preloaded into a server under measurement (`bun --preload`): SIGUSR2 runs a full, synchronous
 * GC, so a memory figure can be read at the steady state instead of with the garbage of whatever
 * just happened (opening 10k streams). Bench-only: never loaded by the app itself.
 */
process.on("SIGUSR2", () => {
  Bun.gc(true);
});
