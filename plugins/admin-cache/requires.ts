import type { AuthService } from "../../src/domain/auth";
import type { CacheSyncService } from "../../src/domain/cache-sync";

// The services these plugins use, typed here too (identical declarations merge), so this plugin
// type-checks on its own whichever providers are loaded.
declare module "../../src/core/plugin" {
  interface Services {
    auth: AuthService;
    cacheSync: CacheSyncService;
  }
}
