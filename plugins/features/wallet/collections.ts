/** The wallet's collections (adoption's doctor and migration read them too). */
export const LEDGER_COLLECTION = "ledger";
export const DEPOSITS_COLLECTION = "deposits";
export const WITHDRAWALS_COLLECTION = "withdrawals";
