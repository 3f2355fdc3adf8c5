export {
  MongoWireServer,
  type MongoWireStats,
  type StartMongoWireOptions,
  startMongoWire,
} from "./server";
