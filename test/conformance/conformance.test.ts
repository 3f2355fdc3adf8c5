import { describe } from "bun:test";
import { backends } from "./backends";
import { driverOptionsConformance } from "./driver-options.conformance";
import { readsConformance } from "./reads.conformance";
import { updateOperatorsConformance } from "./update-operators.conformance";

/**
 * The conformance suite: the same tests, with the same expectations, against every backend this
 * run can reach (the embedded engine through the memory adapter, the wire-protocol test server
 * through the official driver and, with MONGO_URL, a real mongod). A divergence fails a test.
 */
for (const factory of backends) {
  describe(`conformance: ${factory.label}`, () => {
    describe("update operators", () => updateOperatorsConformance(factory));
    describe("reads and unique indexes", () => readsConformance(factory));
    // Options the port does not expose exist only where a driver sends them.
    if (factory.driver) describe("driver options", () => driverOptionsConformance(factory));
  });
}
