/**
 * Loaded by `bun test` before any test file (bunfig.toml). Under REDIS_TOPOLOGY=cluster (or
 * sentinel) it starts the one Redis Cluster (or Sentinel deployment) every suite shares:
 * processes a test file spawns are killed when that file ends, so a deployment started by the
 * first file would not outlive it.
 */
import { onTestCluster, onTestSentinel, startTestCluster, startTestSentinel } from "./redis-server";

if (onTestCluster) await startTestCluster();
if (onTestSentinel) await startTestSentinel();
