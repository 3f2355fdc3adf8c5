import pkg from "../../package.json";

/**
 * The document-level part of `/openapi.json`: what generators and linters read before any path
 * (version, licence, servers, tag groups). Operations come from the routes themselves.
 */
export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "cachesync API",
    version: pkg.version,
    description:
      "MongoDB ⇄ Redis cache synchronization layer: accounts, profiles, a wallet with admin-approved deposits and withdrawals, admin cache tools and live updates over Server-Sent Events. Every answer is the envelope `{ success, data | error }`; errors carry a stable `code`.",
    license: { name: "MIT", identifier: "MIT" },
  },
  // Relative: the API is wherever this document was fetched from (`bun start`: localhost:3000).
  servers: [{ url: "/", description: "The server that answered this document" }],
  // In the order the README presents the API.
  tags: [
    { name: "Auth", description: "Accounts and tokens" },
    { name: "Profile", description: "The caller's profile and public user views" },
    { name: "Deposits", description: "Deposit requests; approval credits the wallet (admin)" },
    { name: "Withdrawals", description: "Withdrawal requests; approval debits the wallet (admin)" },
    { name: "Wallet", description: "The ledger of applied balance changes" },
    { name: "Events", description: "Live `userDataUpdated` events (Server-Sent Events)" },
    { name: "Listings", description: "Listings read through their cache; view counts" },
    { name: "Admin cache", description: "Inspect and repair users' cache entries (admin)" },
    {
      name: "Adoption",
      description:
        "What in an existing database does not fit the invariants (admin; `bun run doctor`)",
    },
    { name: "Operations", description: "Liveness, readiness and metrics" },
  ],
};
