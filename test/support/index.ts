/**
 * `cachesync/testing`: the harness our own suites use, for teams' `bun test` suites too.
 */
export * from "./redis-server";
export * from "./mongo-wire";
export * from "./stack";
export * from "./stale-checker";
export * from "./seed";
export * from "./store-probe";
export * from "./free-port";
