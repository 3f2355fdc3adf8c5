/**
 * `cachesync/testing`: the harness our own suites use, for teams' `bun test` suites too.
 */

export * from "./cache-gate";
export * from "./fault-proxy";
export * from "./free-port";
export * from "./history";
export * from "./history-checker";
export * from "./history-run";
export * from "./jittered-deployment";
export * from "./mongo-ownership";
export * from "./mongo-wire";
export * from "./redis-cluster";
export * from "./redis-sentinel";
export * from "./redis-server";
export * from "./seed";
export * from "./stack";
export * from "./stale-checker";
export * from "./store-probe";
