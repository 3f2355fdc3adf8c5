import type { Plugin } from "./core/plugin";

/**
 * The product's plugin list, in hook order (outermost first): sanitize → events →
 * write-through → versioning → cache-aside → adapter. Each plugin adds its own line.
 */
export function defaultPlugins(): Plugin[] {
  return [];
}
