import type { BusMessage } from "../../../src/core/ports/event-bus";
import type { UserDataUpdated } from "../../cache/events";

const TYPE: UserDataUpdated["type"] = "userDataUpdated";

/** One `userDataUpdated` frame ready for the wire, plus whom it concerns. */
export interface UserEvent {
  /** The bus id (a Redis Stream id): the SSE `id:`, and what Last-Event-ID names. */
  id: string;
  event: UserDataUpdated["type"];
  userId: string;
  /** The user's version the event carries (the events plugin always sets it). */
  version?: number;
  /** JSON of the payload without `type` (the SSE `event:` line carries it). */
  data: string;
  /** The account's session state after the change: streams of revoked sessions close on it. */
  session?: { tokenVersion: number; role: string };
  /** The encoded SSE block, built once and written to every stream it goes to (frameOf). */
  frame?: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * The event's SSE block as bytes, encoded on first use and shared by every recipient: a fan-out
 * to thousands of streams costs one JSON-to-bytes encoding, not one per stream. `data` is JSON,
 * which never holds a raw line break, so it is one `data:` line.
 */
export function frameOf(ev: UserEvent): Uint8Array {
  ev.frame ??= encoder.encode(`event: ${ev.event}\nid: ${ev.id}\ndata: ${ev.data}\n\n`);
  return ev.frame;
}

/** A frame that is not an event (a comment, the retry line, the last `event: close`). */
export const rawFrame = (text: string): Uint8Array => encoder.encode(text);

function sessionOf(user: unknown): UserEvent["session"] {
  if (!user || typeof user !== "object") return undefined;
  const { tokenVersion, role } = user as Record<string, unknown>;
  if (typeof role !== "string") return undefined;
  return { tokenVersion: typeof tokenVersion === "number" ? tokenVersion : 0, role };
}

/**
 * Parses a bus message published by the events plugin. Anything else on the topic (another
 * event type, a malformed payload) is not for browsers and yields null.
 */
export function toUserEvent(msg: BusMessage): UserEvent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(msg.payload);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object") return null;
  const { type, ...rest } = parsed as Record<string, unknown>;
  if (type !== TYPE || typeof rest.userId !== "string") return null;
  const session = sessionOf(rest.user);
  return {
    id: msg.id,
    event: TYPE,
    userId: rest.userId,
    ...(typeof rest.version === "number" ? { version: rest.version } : {}),
    data: JSON.stringify(rest),
    ...(session ? { session } : {}),
  };
}
