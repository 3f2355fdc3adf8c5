export {
  type ChangeRecord,
  ClusterClock,
  type ClusterSeq,
  parseResumeToken,
  resumeToken,
  toTimestamp,
} from "./change-log";
export { type ChangeStreamSpec, EngineChangeStream } from "./change-stream";
export { deepClone } from "./clone";
export {
  EngineCollection,
  type FindAndModifyOutcome,
  type FindAndModifySpec,
  type IndexRequest,
  type UpdateOutcome,
  type UpdateSpec,
} from "./collection";
export { EngineDatabase } from "./database";
export { Engine } from "./engine";
export { DuplicateKeyEngineError, EngineError } from "./errors";
export type { FindSpec } from "./query";
