import type { SanitizedUser, UserDoc } from "../../features/users";
import { CollectionEngine } from "./collection-engine";
import type { ProtectionName, Protections } from "./protections";
import type { RepairEntry } from "./repair-log";

export { CollectionEngine, type FillLease } from "./collection-engine";
export { DELETED_VERSION } from "./core";

/**
 * The users collection's engine: the generic CollectionEngine plus the first stage's names
 * (`userKey`, `emailKey`, `rawUser`, `invalidate(id, version, emails)`), which change streams,
 * the bench and the tests use as `ctx.use("cacheEngine")`, and the first stage's debt shape
 * (`{ userId, emails }`), so instances of both versions settle each other's debts.
 */
export class CacheEngine extends CollectionEngine<SanitizedUser> {
  userKey(id: string): string {
    return this.key(id);
  }

  emailKey(email: string): string {
    return this.indexKey("email", email);
  }

  rawUser(id: string): Promise<UserDoc | null> {
    return this.raw(id) as Promise<UserDoc | null>;
  }

  getCachedIdByEmail(email: string): Promise<string | null> {
    return this.getCachedIdBy("email", email);
  }

  /** Empties the user's entry and the email index keys of `emails`. */
  invalidate(id: string, version: number, emails: readonly string[]): Promise<void> {
    return this.invalidateEntry(
      id,
      version,
      emails.map((email) => ({ email })),
    );
  }

  /** The cache layers' metrics (shared by every collection; series labelled by collection). */
  get metrics() {
    return this.core.metrics;
  }

  get protections(): Readonly<Protections> {
    return this.core.protections;
  }

  /** Mutation testing only (every collection): see CacheCore.disableProtectionForTest. */
  disableProtectionForTest(name: ProtectionName, off = true): void {
    this.core.disableProtectionForTest(name, off);
  }

  repairPending(): Promise<number> {
    return this.core.repairPending();
  }

  observeMongo<T>(p: Promise<T>): Promise<T> {
    return this.core.observeMongo(p);
  }

  mongoDegraded(): boolean {
    return this.core.mongoDegraded();
  }

  oweKey(key: string, version: number, err: unknown): Promise<void> {
    return this.core.oweKey(key, version, err);
  }

  redisError(err: unknown): void {
    this.core.redisError(err);
  }

  close(): void {
    this.core.close();
  }

  protected override owe(
    id: string,
    version: number,
    index: readonly string[],
    err: unknown,
  ): Promise<void> {
    // The first stage's shape: email values, not keys.
    const prefix = this.indexKey("email", "");
    const emails = index.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    const record = () => this.core.repairs.record(id, version, emails);
    return this.core.recordDebt(record, err, { userId: id });
  }

  protected override async settle(entry: RepairEntry): Promise<void> {
    if (!entry.userId) return super.settle(entry);
    await this.core.drop(this.key(entry.userId), entry.version);
    if (entry.emails?.length) await this.core.cache.del(entry.emails.map((e) => this.emailKey(e)));
  }
}
