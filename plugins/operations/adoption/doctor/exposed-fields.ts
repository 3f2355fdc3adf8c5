/** Names that look like a secret, and names that look like a one-time code. */
const SECRET_NAME = /token|secret|passw/i;
const CODE_NAME = /code/i;
/** Stored by cachesync itself and harmless, though their names match the patterns above. */
const OWN_FIELDS = new Set(["tokenVersion"]);
/** Deeper than any user document a real application writes; a cycle-free bound all the same. */
const MAX_DEPTH = 16;

export interface ExposedField {
  /** Dotted, as MongoDB names it: array elements are walked through without an index. */
  path: string;
  kind: "secret" | "code";
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The sensitive-looking fields of a user as the API shows it (the sanitizer's output), at any
 * depth: `auth.refreshTokens` leaks as surely as a top-level `resetPasswordToken`. A matching
 * name is reported once and its contents are not walked (they all leak under it).
 */
export function exposedSensitiveFields(shown: Record<string, unknown>): ExposedField[] {
  const found = new Map<string, ExposedField["kind"]>();
  const walk = (value: unknown, prefix: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, prefix, depth + 1);
      return;
    }
    if (!isPlainObject(value)) return;
    for (const [name, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (!prefix && OWN_FIELDS.has(name)) continue;
      if (SECRET_NAME.test(name)) found.set(path, "secret");
      else if (CODE_NAME.test(name)) found.set(path, "code");
      else walk(child, path, depth + 1);
    }
  };
  walk(shown, "", 0);
  return [...found].map(([path, kind]) => ({ path, kind }));
}
