import { Decimal128, MongoClient, ObjectId } from "mongodb";

/**
 * A `users` collection written the way the platform cachesync comes from writes it: no
 * `version`, bcrypt hashes, balances as the app stored them, secrets and extra fields — and a
 * few deliberately broken shapes. `expected` is what the doctor must count.
 */
export const LEGACY_PASSWORD = "legacy-password-1";
/** The password of the mixed-case twin of an account (its lower-cased email is the other's). */
export const TWIN_PASSWORD = "twin-password-1";

export interface LegacyUser {
  id: string;
  /** As login takes it (lower-cased). */
  email: string;
  password: string;
  /** In minor units, once migrated at --currency-scale 100. */
  balance: number;
}

export interface LegacyFixture {
  /** Users the migration can bring to every invariant, with nothing left to report. */
  clean: LegacyUser[];
  /** Every user whose money the migration brings to the invariants: `clean` and the users
   * reported for something else than money; `login` false when they cannot log in. */
  adoptable: (LegacyUser & { login: boolean; group: string })[];
  /** Users the migration leaves for a decision, with the check that reports them. */
  reported: { id: string; email: string; password: string; check: string }[];
  expected: Record<string, number>;
  users: number;
}

const GROUPS = {
  plain: 200,
  float: 20,
  string: 10,
  decimal: 5,
  ambiguous: 3,
  negative: 5,
  upperEmail: 10,
  dupEmailPairs: 3,
  dupUsernamePairs: 2,
  badHash: 5,
  secretField: 6,
  codeField: 4,
  withLedger: 10,
  noWallet: 2,
  /** Only with `nestedSecrets` (their secrets reach Redis unless SENSITIVE_FIELDS hides them). */
  nestedSecret: 4,
};

export async function writeLegacyDatabase(
  url: string,
  dbName: string,
  /** Users with a plain integer balance (the bulk); the broken shapes keep their counts. */
  plain = GROUPS.plain,
  opts: { nestedSecrets?: boolean } = {},
): Promise<LegacyFixture> {
  const client = await new MongoClient(url).connect();
  try {
    const db = client.db(dbName);
    const bcrypt = await Bun.password.hash(LEGACY_PASSWORD, { algorithm: "bcrypt", cost: 4 });
    const twinHash = await Bun.password.hash(TWIN_PASSWORD, { algorithm: "bcrypt", cost: 4 });
    const users: Record<string, unknown>[] = [];
    const ledger: Record<string, unknown>[] = [];
    const clean: LegacyFixture["clean"] = [];
    const adoptable: LegacyFixture["adoptable"] = [];
    const reported: LegacyFixture["reported"] = [];
    let n = 0;
    const legacy = (extra: Record<string, unknown> = {}, balance: unknown = 5000) => {
      n++;
      const doc: Record<string, unknown> = {
        _id: new ObjectId(),
        email: `legacy${n}@old.example`,
        username: `legacy${n}`,
        passwordHash: bcrypt,
        role: "user",
        displayName: `Legacy ${n}`,
        bio: "",
        avatarUrl: "",
        wallet: { balance, currency: "USD" },
        refreshTokens: [{ token: `rt-${n}`, createdAt: new Date() }],
        authLogs: [{ ip: "10.0.0.1", at: new Date() }],
        twoFA: { enabled: false, secret: `totp-${n}` },
        verificationCode: String(100000 + n),
        lastLoginIp: "10.0.0.1",
        preferences: { theme: "dark" },
        createdAt: new Date(Date.UTC(2021, 0, 1) + n * 60_000),
        updatedAt: new Date(),
        ...extra,
      };
      users.push(doc);
      return doc;
    };
    const who = (doc: Record<string, unknown>) => ({
      id: String(doc._id),
      email: String(doc.email).toLowerCase(),
      password: doc.passwordHash === twinHash ? TWIN_PASSWORD : LEGACY_PASSWORD,
    });
    const keep = (doc: Record<string, unknown>, balance: number, group: string) => {
      clean.push({ ...who(doc), balance });
      adoptable.push({ ...who(doc), balance, login: true, group });
    };
    /** Left for a decision, under each check; `adopted` when its money is adoptable all the same. */
    const report = (
      doc: Record<string, unknown>,
      checks: string[],
      adopted?: { balance: number; login?: boolean; group?: string },
    ) => {
      for (const check of checks) reported.push({ ...who(doc), check });
      if (adopted)
        adoptable.push({
          ...who(doc),
          balance: adopted.balance,
          login: adopted.login ?? true,
          group: adopted.group ?? String(checks[0]),
        });
    };

    for (let i = 0; i < plain; i++) keep(legacy({}, 1000 + i * 7), 1000 + i * 7, "plain");
    for (let i = 0; i < GROUPS.float; i++) keep(legacy({}, 50.25 + i), 5025 + i * 100, "float");
    for (let i = 0; i < GROUPS.string; i++) keep(legacy({}, `75.1${i}`), 7510 + i, "string");
    for (let i = 0; i < GROUPS.decimal; i++)
      keep(legacy({}, Decimal128.fromString(`12.3${i}`)), 1230 + i, "decimal");
    for (let i = 0; i < GROUPS.ambiguous; i++)
      report(legacy({}, 50.255 + i), ["user.balance.ambiguous"]);
    for (let i = 0; i < GROUPS.negative; i++)
      report(legacy({}, -300 - i), ["user.balance.negative"]);
    for (let i = 0; i < GROUPS.upperEmail; i++) {
      const d = legacy({}, 2000);
      d.email = `Mixed.Case${n}@Old.Example`;
      keep(d, 2000, "upperEmail");
    }
    for (let i = 0; i < GROUPS.dupEmailPairs; i++) {
      const a = legacy({}, 100);
      a.email = `twin${i}@old.example`;
      keep(a, 100, "dupEmail");
      const b = legacy({ passwordHash: twinHash }, 100);
      b.email = `Twin${i}@Old.Example`;
      // Login looks the lower-cased email up: it finds the twin, never this account.
      report(b, ["user.email.duplicate"], { balance: 100, login: false });
    }
    for (let i = 0; i < GROUPS.dupUsernamePairs; i++) {
      const upper = legacy({ username: `Sam${i}` }, 300);
      keep(upper, 300, "dupUsername");
      reported.push({ ...who(upper), check: "user.username.duplicate" });
      keep(legacy({ username: `sam${i}` }, 300), 300, "dupUsername");
    }
    for (let i = 0; i < GROUPS.badHash; i++)
      report(
        legacy({ passwordHash: "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8" }, 400),
        ["user.password.unverifiable"],
        { balance: 400, login: false },
      );
    for (let i = 0; i < GROUPS.secretField; i++)
      report(
        legacy({ resetPasswordToken: `reset-${i}`, apiSecret: `s-${i}` }, 500),
        ["user.field.sensitive-name"],
        { balance: 500 },
      );
    for (let i = 0; i < GROUPS.codeField; i++)
      report(legacy({ referralCode: `REF${i}` }, 500), ["user.field.code-name"], { balance: 500 });
    for (let i = 0; i < GROUPS.withLedger; i++) {
      const d = legacy({}, 9000);
      keep(d, 9000, "withLedger");
      // Earlier transactions the old app recorded in a ledger of its own shape.
      for (const amount of [1500, 2500])
        ledger.push({
          _id: new ObjectId(),
          opId: `legacy:${d._id}:${amount}`,
          userId: d._id,
          amount,
          reason: "imported",
          status: "applied",
          createdAt: new Date(Date.UTC(2022, 0, 1)),
        });
    }
    for (let i = 0; i < GROUPS.noWallet; i++) {
      const d = legacy({});
      delete d.wallet;
      keep(d, 0, "noWallet");
    }
    // Secrets below the top level, where a check of field names alone would not look. `twoFA`
    // (every user has one, with a secret) is hidden whole, so `twoFA.secret` never leaks.
    const nested = opts.nestedSecrets ? GROUPS.nestedSecret : 0;
    for (let i = 0; i < nested; i++)
      report(
        legacy(
          {
            auth: { provider: "google", refreshTokens: [`nested-rt-${i}`] },
            security: { totp: { enabled: true, secret: `nested-${i}` }, recoveryCodes: ["a1"] },
            devices: [{ name: "phone", pushToken: `push-${i}` }, { name: "tablet" }],
          },
          600,
        ),
        ["user.field.sensitive-name", "user.field.code-name"],
        { balance: 600, group: "nested" },
      );
    await db.collection("users").insertMany(users);
    await db.collection("ledger").insertMany(ledger);
    const requests = ["pending", "pending", "approving", "approved", "rejected"].map((status) => ({
      _id: new ObjectId(),
      userId: users[0]?._id,
      amount: 100,
      senderName: "Legacy",
      status,
      createdAt: new Date(Date.UTC(2023, 0, 1)),
      updatedAt: new Date(Date.UTC(2023, 0, 1)),
    }));
    await db.collection("deposits").insertMany(requests);

    const converted = GROUPS.float + GROUPS.string + GROUPS.decimal;
    const notInteger = converted + GROUPS.ambiguous;
    return {
      clean,
      adoptable,
      reported,
      users: users.length,
      expected: {
        "index.missing": 3,
        "user.version.missing": users.length,
        "user.wallet.missing": GROUPS.noWallet,
        "user.balance.not-integer": notInteger,
        "user.balance.negative": GROUPS.negative,
        // Every user with a minor-unit balance: the old app kept no cachesync ledger, so all
        // non-zero balances mismatch, except the wallet-less (balance 0, no entries).
        "user.ledger.mismatch": users.length - notInteger - GROUPS.noWallet,
        "user.email.not-lowercase": GROUPS.upperEmail + GROUPS.dupEmailPairs,
        "user.email.duplicate": GROUPS.dupEmailPairs * 2,
        "user.username.duplicate": GROUPS.dupUsernamePairs * 2,
        "user.username.not-lowercase": GROUPS.dupUsernamePairs,
        "user.password.unverifiable": GROUPS.badHash,
        "user.field.sensitive-name": GROUPS.secretField * 2 + nested * 3,
        "user.field.code-name": GROUPS.codeField + nested,
        "request.pending": 2,
        "request.approving": 1,
      },
    };
  } finally {
    await client.close();
  }
}
