/** SPEC §4 layout. Single keys only, so every script works unchanged on Redis Cluster. */
export const userKey = (prefix: string, id: string) => `${prefix}user:${id}`;
export const emailKey = (prefix: string, email: string) =>
  `${prefix}user:email:${email.toLowerCase()}`;
