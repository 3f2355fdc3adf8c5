import { Decimal128, MongoClient, ObjectId } from "mongodb";

/**
 * A `users` collection written the way the platform cachesync comes from writes it: no
 * `version`, bcrypt hashes, balances as the app stored them, secrets and extra fields — and a
 * few deliberately broken shapes. `expected` is what the doctor must count.
 */
export const LEGACY_PASSWORD = "legacy-password-1";

export interface LegacyFixture {
  /** Users the migration can bring to every invariant. */
  clean: { id: string; email: string; balance: number }[];
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
};

export async function writeLegacyDatabase(
  url: string,
  dbName: string,
  /** Users with a plain integer balance (the bulk); the broken shapes keep their counts. */
  plain = GROUPS.plain,
): Promise<LegacyFixture> {
  const client = await new MongoClient(url).connect();
  try {
    const db = client.db(dbName);
    const bcrypt = await Bun.password.hash(LEGACY_PASSWORD, { algorithm: "bcrypt", cost: 4 });
    const users: Record<string, unknown>[] = [];
    const ledger: Record<string, unknown>[] = [];
    const clean: LegacyFixture["clean"] = [];
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
    const keep = (doc: Record<string, unknown>, balance: number) =>
      clean.push({ id: String(doc._id), email: String(doc.email).toLowerCase(), balance });

    for (let i = 0; i < plain; i++) keep(legacy({}, 1000 + i * 7), 1000 + i * 7);
    for (let i = 0; i < GROUPS.float; i++) keep(legacy({}, 50.25 + i), 5025 + i * 100);
    for (let i = 0; i < GROUPS.string; i++) keep(legacy({}, `75.1${i}`), 7510 + i);
    for (let i = 0; i < GROUPS.decimal; i++)
      keep(legacy({}, Decimal128.fromString(`12.3${i}`)), 1230 + i);
    for (let i = 0; i < GROUPS.ambiguous; i++) legacy({}, 50.255 + i);
    for (let i = 0; i < GROUPS.negative; i++) legacy({}, -300 - i);
    for (let i = 0; i < GROUPS.upperEmail; i++) {
      const d = legacy({}, 2000);
      d.email = `Mixed.Case${n}@Old.Example`;
      keep(d, 2000);
    }
    for (let i = 0; i < GROUPS.dupEmailPairs; i++) {
      const a = legacy({}, 100);
      a.email = `twin${i}@old.example`;
      keep(a, 100);
      const b = legacy({}, 100);
      b.email = `Twin${i}@Old.Example`;
    }
    for (let i = 0; i < GROUPS.dupUsernamePairs; i++) {
      keep(legacy({ username: `Sam${i}` }, 300), 300);
      keep(legacy({ username: `sam${i}` }, 300), 300);
    }
    for (let i = 0; i < GROUPS.badHash; i++)
      legacy({ passwordHash: "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8" }, 400);
    for (let i = 0; i < GROUPS.secretField; i++)
      legacy({ resetPasswordToken: `reset-${i}`, apiSecret: `s-${i}` }, 500);
    for (let i = 0; i < GROUPS.codeField; i++) legacy({ referralCode: `REF${i}` }, 500);
    for (let i = 0; i < GROUPS.withLedger; i++) {
      const d = legacy({}, 9000);
      keep(d, 9000);
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
      keep(d, 0);
    }
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
        "user.field.sensitive-name": GROUPS.secretField * 2,
        "user.field.code-name": GROUPS.codeField,
        "request.pending": 2,
        "request.approving": 1,
      },
    };
  } finally {
    await client.close();
  }
}
