import { DuplicateKeyError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { newUserDoc, rawUsers, sanitizedUsers } from "../users";
import type { Passwords } from "./passwords";

/**
 * Creates the ADMIN_EMAIL account when absent. Several instances may start at once: each tries
 * the insert and the unique email index lets exactly one win; the others take the
 * DuplicateKeyError as "someone else did it". An existing account is never touched, so a changed
 * ADMIN_PASSWORD does not silently reset a live admin's password.
 */
export async function bootstrapAdmin(
  ctx: PluginContext,
  passwords: Passwords,
): Promise<"created" | "exists" | "skipped"> {
  const { ADMIN_EMAIL, ADMIN_PASSWORD } = ctx.config;
  if (!ADMIN_EMAIL) {
    if (ADMIN_PASSWORD)
      ctx.logger.warn("ADMIN_PASSWORD is set without ADMIN_EMAIL: no admin created");
    return "skipped";
  }
  const email = ADMIN_EMAIL.trim().toLowerCase();
  const existing = await rawUsers(ctx).findOne({ email }, { projection: { _id: 1, role: 1 } });
  if (existing) {
    if (existing.role !== "admin")
      ctx.logger.warn({ email }, "ADMIN_EMAIL belongs to a non-admin account; left unchanged");
    return "exists";
  }
  // Dropping ADMIN_PASSWORD once the admin exists is legitimate (and wise); before, it is a typo.
  if (!ADMIN_PASSWORD) {
    ctx.logger.warn({ email }, "ADMIN_EMAIL is set without ADMIN_PASSWORD: no admin created");
    return "skipped";
  }
  const passwordHash = await passwords.hash(ADMIN_PASSWORD);
  for (const username of adminUsernames(email)) {
    try {
      await sanitizedUsers(ctx, { reason: "admin bootstrap" }).insertOne(
        newUserDoc({ email, username, passwordHash, role: "admin" }),
      );
      ctx.logger.info({ email, username }, "admin account created");
      if (ctx.config.ADMIN_INITIAL_BALANCE === 0)
        ctx.logger.warn(
          { email },
          "the admin's float is 0: deposit approvals debit it, so they fail until it is funded (ADMIN_INITIAL_BALANCE)",
        );
      return "created";
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      // A taken username is not "the admin exists": try the next candidate.
      if (!isUsernameClash(err)) return "exists";
    }
  }
  throw new Error(`could not find a free username for admin ${email}`);
}

function isUsernameClash(err: DuplicateKeyError): boolean {
  return "username" in err.keyPattern || "username" in err.keyValue;
}

/**
 * Valid usernames from the email's local part, deterministic first (instances racing on the same
 * candidate collide on email, as they should), random last.
 */
function adminUsernames(email: string): string[] {
  const raw = email
    .split("@")[0]
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 20);
  const local = raw.length >= 3 ? raw : `admin_${raw}`;
  return [local, `${local}_admin`, `admin_${crypto.randomUUID().slice(0, 8)}`];
}
