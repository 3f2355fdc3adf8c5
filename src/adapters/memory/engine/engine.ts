import { ClusterClock } from "./change-log";
import { EngineDatabase } from "./database";

/** An in-process document database: databases of collections, MongoDB semantics via mingo. */
export class Engine {
  private readonly databases = new Map<string, EngineDatabase>();
  /** One cluster time for every database, as on a replica set. */
  readonly clock = new ClusterClock();

  constructor(private readonly options: { changeHistory?: number } = {}) {}

  db(name: string): EngineDatabase {
    let db = this.databases.get(name);
    if (!db) {
      db = new EngineDatabase(name, this.clock, this.options.changeHistory);
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
