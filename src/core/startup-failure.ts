import { StoreUnavailableError } from "./errors";
import { PluginError } from "./plugin";

const LISTEN: Record<string, (where: string) => string> = {
  EADDRINUSE: (where) => `${where} is already in use (set PORT to a free port, or 0 for any)`,
  EADDRNOTAVAIL: (where) => `${where}: HOST is not an address of this machine`,
  EINVAL: (where) => `${where}: HOST does not resolve to an address this machine can listen on`,
  EACCES: (where) => `${where}: permission denied (ports below 1024 need privileges)`,
};

/**
 * The sentence `bun start` prints after "cannot start:" when it knows the cause — a store that
 * does not answer, a misordered plugin list, a port or address it cannot listen on — so an
 * operator reads one line rather than a stack. Undefined for anything else (logged in full).
 */
export function startupFailure(
  err: unknown,
  listen?: { host: string; port: number },
): string | undefined {
  if (err instanceof StoreUnavailableError) return `${err.message} (${err.store})`;
  if (err instanceof PluginError) return `${err.message} (${err.code})`;
  const code = (err as { code?: unknown } | null)?.code;
  if (listen && typeof code === "string" && LISTEN[code])
    return LISTEN[code](`listening on ${listen.host}:${listen.port}`);
  return undefined;
}
