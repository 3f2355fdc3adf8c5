export { MongoWireServer, startMongoWire, type MongoWireStats, type StartMongoWireOptions } from "./server";
