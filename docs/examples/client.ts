import { createCachesyncClient, subscribeUserEvents, unwrap } from "cachesync/client";

/**
 * The README's "Call it from your code": the lines between the markers are the README's block
 * (test/openapi/readme-client.test.ts checks it, typecheck compiles it, and the test runs it).
 */
export async function callFromYourCode(baseUrl: string, email: string, password: string) {
  // README:begin
  const api = createCachesyncClient({ baseUrl }); // e.g. "http://localhost:3000"
  const { token } = await unwrap(api.POST("/api/v1/auth/login", { body: { email, password } }));
  api.setToken(token);
  const { user } = await unwrap(api.GET("/api/v1/users/me")); // typed from /openapi.json
  const deposit = await unwrap(
    api.POST("/api/v1/deposits/request", { body: { amount: 2500, senderName: "Ana" } }),
  );
  const events = subscribeUserEvents({
    baseUrl,
    token,
    onEvent: (e) => console.log(e.reason, e.user.wallet.balance), // each userDataUpdated
  });
  // README:end
  return { user, deposit, events };
}
