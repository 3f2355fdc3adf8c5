import pLimit from "p-limit";

/**
 * argon2id through Bun.password. Tests may lower the cost: argon2's memory cost dominates a suite
 * that registers hundreds of users, and the algorithm (what we assert on) stays the same.
 */
export interface PasswordCost {
  memoryCost: number;
  timeCost: number;
}

export const PRODUCTION_COST: PasswordCost = { memoryCost: 65536, timeCost: 2 };
export const TEST_COST: PasswordCost = { memoryCost: 1024, timeCost: 1 };

/** How many argon2 computations may run at once, per kind. */
export interface PasswordConcurrency {
  /** New passwords (registration, admin bootstrap). */
  hash: number;
  /** Logins. Separate slots, so a burst of registrations queues behind itself, not logins. */
  verify: number;
}

/**
 * Each argon2 run holds `memoryCost` KiB (64 MiB in production) and a CPU for tens of
 * milliseconds, so unbounded parallel runs exhaust memory and make every login wait behind them.
 */
export function createPasswords(cost: PasswordCost, concurrency: PasswordConcurrency) {
  const hashSlots = pLimit(concurrency.hash);
  const verifySlots = pLimit(concurrency.verify);
  const hash = (password: string) =>
    hashSlots(() => Bun.password.hash(password, { algorithm: "argon2id", ...cost }));
  // Verifying against a real hash when the email is unknown keeps both failure paths equally slow,
  // so response time does not reveal which emails are registered.
  let dummy: Promise<string> | undefined;
  return {
    hash,
    /** argon2 runs in progress and waiting, per kind (exported as a gauge by the plugin). */
    load: () => ({
      hash: { active: hashSlots.activeCount, queued: hashSlots.pendingCount },
      verify: { active: verifySlots.activeCount, queued: verifySlots.pendingCount },
    }),
    async verify(password: string, stored: string | undefined): Promise<boolean> {
      const check = (against: string) =>
        verifySlots(() => Bun.password.verify(password, against)).catch(() => false);
      if (!stored) {
        dummy ??= hash("not-a-real-password");
        await check(await dummy);
        return false;
      }
      return check(stored);
    },
  };
}

export type Passwords = ReturnType<typeof createPasswords>;
