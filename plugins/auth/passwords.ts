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

export function createPasswords(cost: PasswordCost) {
  // Verifying against a real hash when the email is unknown keeps both failure paths equally slow,
  // so response time does not reveal which emails are registered.
  let dummy: Promise<string> | undefined;
  return {
    hash: (password: string) => Bun.password.hash(password, { algorithm: "argon2id", ...cost }),
    async verify(password: string, hash: string | undefined): Promise<boolean> {
      if (!hash) {
        dummy ??= Bun.password.hash("not-a-real-password", { algorithm: "argon2id", ...cost });
        await Bun.password.verify(password, await dummy).catch(() => false);
        return false;
      }
      return Bun.password.verify(password, hash).catch(() => false);
    },
  };
}

export type Passwords = ReturnType<typeof createPasswords>;
