/**
 * Loaded by `bun test` before any test file (bunfig.toml). Under REDIS_TOPOLOGY=cluster it starts
 * the one Redis Cluster every suite shares: processes a test file spawns are killed when that
 * file ends, so a cluster started by the first file would not outlive it.
 */
import { onTestCluster, startTestCluster } from "./redis-server";

if (onTestCluster) await startTestCluster();
