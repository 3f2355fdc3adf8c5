import type { Document } from "bson";
import { type Engine, EngineError } from "../../../../src/adapters/memory/engine";
import type { ChangeStreamCursors } from "../change-streams";
import type { CursorRegistry } from "../cursors";

export interface CommandContext {
  engine: Engine;
  cursors: CursorRegistry;
  /** The database the command runs against (`$db`). */
  db: string;
  /** This connection's id, reported by hello. */
  connectionId: number;
  /** Logical sessions the server has seen (`lsid` of each command), for `$listLocalSessions`. */
  sessions?: () => Document[];
  streams: ChangeStreamCursors;
  /** Set when started with `--replSet`: a one-node replica set, this server its primary. */
  replSet?: { name: string; host: string };
}

/** A command's reply; a getMore on a change stream waits for events, hence the promise. */
export type CommandHandler = (body: Document, ctx: CommandContext) => Document | Promise<Document>;

/** The collection name a command targets (`{ find: "users", … }`). */
export function targetCollection(body: Document, command: string): string {
  const name: unknown = body[command];
  if (typeof name !== "string" || !name) {
    throw new EngineError(
      73,
      "InvalidNamespace",
      `collection name has invalid type ${typeof name}`,
    );
  }
  return name;
}

export function optionalDoc(value: unknown): Document | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Document)
    : undefined;
}

export function docArray(value: unknown, field: string): Document[] {
  if (!Array.isArray(value))
    throw new EngineError(
      9,
      "FailedToParse",
      `BSON field '${field}' is missing but a required field`,
    );
  return value as Document[];
}
