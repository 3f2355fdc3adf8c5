/**
 * `bun run demo`: `bun start` on the embedded stores with a demo admin that has a float, so a
 * deposit can be approved at once. The credentials are fixed and public (the README's quick tour
 * uses them), which is why this refuses to run in production or against a real MongoDB.
 */
export const DEMO_ADMIN = {
  ADMIN_EMAIL: "admin@example.com",
  ADMIN_PASSWORD: "demo-admin-password",
  ADMIN_INITIAL_BALANCE: "1000000",
} as const;

if (process.env.NODE_ENV === "production" || process.env.MONGO_URL) {
  console.error(
    "bun run demo: refused with NODE_ENV=production or MONGO_URL set (its admin password is public); use bun start with ADMIN_EMAIL/ADMIN_PASSWORD",
  );
  process.exit(1);
}
for (const [k, v] of Object.entries(DEMO_ADMIN)) process.env[k] ||= v;
// No load balancer to drain from in front of a demo: Ctrl-C exits at once.
process.env.SHUTDOWN_DELAY_MS ||= "0";

await import("./server");
console.log(
  `\ncachesync demo: http://localhost:${process.env.PORT || 3000}/  admin ${process.env.ADMIN_EMAIL} / ${process.env.ADMIN_PASSWORD} (float ${process.env.ADMIN_INITIAL_BALANCE} cents); data is lost on exit\n`,
);
