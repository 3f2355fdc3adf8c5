import { adminCommands } from "./admin";
import type { CommandHandler } from "./context";
import { handshakeCommands } from "./handshake";
import { readCommands } from "./reads";
import { writeCommands } from "./writes";

export type { CommandContext, CommandHandler } from "./context";

/** Every command the test server answers, by the name the driver sends. */
export const commands: ReadonlyMap<string, CommandHandler> = new Map(
  Object.entries({ ...handshakeCommands, ...readCommands, ...writeCommands, ...adminCommands }),
);

/** Aliases collapse onto one counter, so `stats.commands.isMaster` counts `ismaster` too. */
const CANONICAL: Record<string, string> = {
  ismaster: "isMaster",
  buildinfo: "buildInfo",
  findandmodify: "findAndModify",
  deleteIndexes: "dropIndexes",
};

export function canonicalName(name: string): string {
  return CANONICAL[name] ?? name;
}
