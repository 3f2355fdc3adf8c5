export { Engine } from "./engine";
export { EngineDatabase } from "./database";
export {
  EngineCollection,
  type FindAndModifyOutcome,
  type FindAndModifySpec,
  type IndexRequest,
  type UpdateOutcome,
  type UpdateSpec,
} from "./collection";
export { DuplicateKeyEngineError, EngineError } from "./errors";
export { deepClone } from "./clone";
export type { FindSpec } from "./query";
