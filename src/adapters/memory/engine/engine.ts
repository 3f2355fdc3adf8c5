import { EngineDatabase } from "./database";

/** An in-process document database: databases of collections, MongoDB semantics via mingo. */
export class Engine {
  private readonly databases = new Map<string, EngineDatabase>();

  db(name: string): EngineDatabase {
    let db = this.databases.get(name);
    if (!db) {
      db = new EngineDatabase(name);
      this.databases.set(name, db);
    }
    return db;
  }

  dropDatabase(name: string): void {
    this.databases.delete(name);
  }

  listDatabases(): string[] {
    return [...this.databases.entries()].filter(([, db]) => !db.isEmpty).map(([name]) => name);
  }
}
