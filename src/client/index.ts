import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./api";

/**
 * `cachesync/client`: a typed client of the HTTP API. The types are generated from
 * `/openapi.json` (src/client/api.d.ts, `bun run gen:client`); requests go through openapi-fetch,
 * so every path, parameter, body and answer is checked by the compiler. Works in Bun, Node 18+
 * and browsers.
 *
 * ```ts
 * const api = createCachesyncClient({ baseUrl: "http://localhost:3000" });
 * const { token } = await unwrap(api.POST("/api/v1/auth/login", { body: { email, password } }));
 * api.setToken(token);
 * const me = await unwrap(api.GET("/api/v1/users/me"));
 * ```
 */

export type { components, operations, paths } from "./api";
export type { UserDataUpdated, UserEventsOptions, UserEventsSubscription } from "./events";
export { subscribeUserEvents } from "./events";

type Schemas = components["schemas"];
export type User = Schemas["User"];
export type PublicUser = Schemas["PublicUser"];
export type Deposit = Schemas["Deposit"];
export type Withdrawal = Schemas["Withdrawal"];
export type LedgerEntry = Schemas["LedgerEntry"];

export type TokenSource = string | null | undefined | (() => string | null | undefined);

export interface CachesyncClientOptions {
  /** Where the API is, e.g. `http://localhost:3000`. In a browser, default: the page's origin. */
  baseUrl?: string;
  /** The bearer token, or a function read before each request. `setToken` changes it later. */
  token?: TokenSource;
  /** A fetch to use instead of the global one (tests, instrumentation). */
  fetch?: (input: Request) => Promise<Response>;
}

export type CachesyncClient = Client<paths> & {
  /** Sends `Authorization: Bearer <token>` from now on (null: anonymous). */
  setToken(token: TokenSource): void;
};

export const readToken = (t: TokenSource) => (typeof t === "function" ? t() : t) ?? null;

/** A typed openapi-fetch client that adds the bearer token to every request. */
export function createCachesyncClient(options: CachesyncClientOptions = {}): CachesyncClient {
  let token: TokenSource = options.token;
  const client = createFetchClient<paths>({
    baseUrl: options.baseUrl ?? globalThis.location?.origin ?? "",
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const bearer: Middleware = {
    onRequest({ request }) {
      const t = readToken(token);
      if (t && !request.headers.has("authorization"))
        request.headers.set("authorization", `Bearer ${t}`);
      return request;
    },
  };
  client.use(bearer);
  return Object.assign(client, {
    setToken(next: TokenSource) {
      token = next;
    },
  });
}

/** An error envelope (`{ success: false, error: { code, message, details? } }`) as an Error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Envelope<D> = { success: true; data: D; message?: string };
type ErrorBody = { success: false; error: { code: string; message: string; details?: unknown } };

/**
 * The `data` of a success envelope, or throws an ApiError carrying the error envelope's code
 * (status 0 and code `NETWORK` when the server could not be reached).
 */
export async function unwrap<D>(
  pending: Promise<{ data?: Envelope<D>; error?: unknown; response: Response }>,
): Promise<D> {
  let result: Awaited<typeof pending>;
  try {
    result = await pending;
  } catch (err) {
    throw new ApiError(0, "NETWORK", err instanceof Error ? err.message : String(err));
  }
  if (result.data) return result.data.data;
  const body = result.error as Partial<ErrorBody> | undefined;
  const status = result.response.status;
  throw new ApiError(
    status,
    body?.error?.code ?? `HTTP_${status}`,
    body?.error?.message ?? `Request failed (${status})`,
    body?.error?.details,
  );
}
