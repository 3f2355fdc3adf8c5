import type { BusMessage } from "../../src/core/ports/event-bus";

/** One `userDataUpdated` frame ready for the wire, plus whom it concerns. */
export interface UserEvent {
  /** The bus id (a Redis Stream id): the SSE `id:`, and what Last-Event-ID names. */
  id: string;
  event: "userDataUpdated";
  userId: string;
  /** JSON of the payload without `type` (the SSE `event:` line carries it). */
  data: string;
}

// The events plugin owns the topic name; one definition so publisher and subscriber cannot drift.
export { eventsTopic } from "../events/user-data-updated";

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
  if (type !== "userDataUpdated" || typeof rest.userId !== "string") return null;
  return { id: msg.id, event: "userDataUpdated", userId: rest.userId, data: JSON.stringify(rest) };
}
