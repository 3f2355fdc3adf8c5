import type { Hook } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { errorEnvelope } from "./errors";

/** A huge body can fail validation in thousands of places; the first few say what is wrong. */
const MAX_ISSUES = 10;
/** Messages and paths can quote the input (an unrecognised key's name): bounded, never echoed. */
const MAX_TEXT = 160;

const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

/**
 * The one zod-openapi `defaultHook`: any failed param/query/body validation becomes the 400
 * envelope with the zod issues as details (path + message, never the offending value), at most
 * MAX_ISSUES of them, each bounded, so an error is never larger than a few kilobytes.
 */
export const defaultHook: Hook<unknown, AppEnv, string, Response | undefined> = (result, c) => {
  if (!result.success) {
    const issues = result.error.issues;
    const details: { path: string; message: string }[] = issues
      .slice(0, MAX_ISSUES)
      .map((i) => ({ path: clip(i.path.join(".")), message: clip(i.message) }));
    if (issues.length > MAX_ISSUES)
      details.push({ path: "", message: `…and ${issues.length - MAX_ISSUES} more issues` });
    return c.json(errorEnvelope("VALIDATION_ERROR", undefined, details), 400);
  }
  return undefined;
};
