/** Names the docs-side routes use for the shared schemas (src/domain/schemas.ts). */
export {
  ErrorSchema as ErrorEnvelopeSchema,
  envelope as successEnvelope,
  errorResponses,
  ObjectIdSchema,
  UserSchema as SanitizedUserSchema,
} from "../../src/domain/schemas";
