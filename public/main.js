// The wallet page: plain DOM, no framework, no build step. Data is written with textContent only,
// never innerHTML, so nothing a user typed (names, bios, reasons) can become markup. API calls and
// the live stream go through cachesync/client (src/client), which the server bundles for the page.

import {
  ApiError,
  createCachesyncClient,
  subscribeUserEvents,
  unwrap,
} from "/app/cachesync-client.js";
import { renderConsistencyChart } from "/app/consistency-chart.js";

const API = "/api/v1";
const TOKEN_KEY = "cs_token";
const MAX_EVENTS = 50;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** @type {any} */ user: null,
  /** @type {{ close(): void, lastEventId: string | undefined } | null} */ stream: null,
  lastEventId: "",
  everOpened: false,
  profileDirty: false,
  /** @type {number | undefined} */ refreshTimer: undefined,
  /** @type {number | undefined} */ adminPoll: undefined,
};

// ---------- API ----------

const client = createCachesyncClient({ token: () => state.token });

/** One call through the typed client: the envelope's data, or an ApiError with its code. */
async function api(method, path, body, headers) {
  const options = body === undefined ? {} : { body };
  if (headers) options.headers = headers;
  try {
    return await unwrap(client[method](API + path, options));
  } catch (err) {
    if (err instanceof ApiError && err.code === "NETWORK")
      throw new ApiError(0, "NETWORK", "The server cannot be reached. Retrying when it is back.");
    if (err instanceof ApiError) err.message += describeDetails(err.details);
    throw err;
  }
}

/** zod issues from the 400 envelope, as one readable line. */
function describeDetails(details) {
  const issues = Array.isArray(details)
    ? details
    : Array.isArray(details?.issues)
      ? details.issues
      : [];
  const parts = issues
    .slice(0, 3)
    .map((i) => [i.path?.join?.(".") ?? i.path, i.message].filter(Boolean).join(": "));
  return parts.length ? ` (${parts.join("; ")})` : "";
}

// ---------- Read-your-writes ----------

const MIN_VERSION_KEY = "cs_min_version";

/**
 * The newest version of the account this page has shown, its own writes included (SPEC §8): kept
 * for the session's token, even across reloads, and sent as X-Min-Version, so no instance's cache
 * answers with an older one and a change of the user's never looks undone.
 */
function noteVersion(user) {
  if (!state.token || typeof user?.version !== "number") return;
  if (user.version <= (readMinVersion() ?? 0)) return;
  sessionStorage.setItem(
    MIN_VERSION_KEY,
    JSON.stringify({ token: state.token, version: user.version }),
  );
}

function readMinVersion() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(MIN_VERSION_KEY) ?? "null");
    return saved?.token === state.token ? saved.version : undefined;
  } catch {
    return undefined;
  }
}

function minVersionHeaders() {
  const v = readMinVersion();
  return v === undefined ? undefined : { "X-Min-Version": String(v) };
}

// ---------- Alerts ----------

function showError(err) {
  const alert = $("alert");
  alert.className = "alert";
  alert.textContent = err instanceof Error ? err.message : String(err);
  // Outage messages are taken back once the stream is live again (see connect()).
  alert.dataset.outage = String(err instanceof ApiError && (err.status === 0 || err.status >= 502));
  if (err instanceof ApiError && err.status === 401 && state.token)
    signOut("Your session has ended. Please sign in again.");
}

function showInfo(text) {
  const alert = $("alert");
  alert.className = "alert info";
  alert.textContent = text;
  alert.dataset.outage = "false";
}

function clearAlert() {
  $("alert").textContent = "";
  $("alert").dataset.outage = "false";
}

// ---------- Money (integer minor units, never floats in requests) ----------

function currencyDigits(currency) {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

function formatMoney(minor, currency = "USD") {
  const digits = currencyDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
      minor / 10 ** digits,
    );
  } catch {
    return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

/** "12.5" → 1250 by string arithmetic, so 0.1 + 0.2 style float errors cannot reach the ledger. */
function parseAmount(text, currency) {
  const digits = currencyDigits(currency);
  const m = /^(\d{1,13})(?:[.,](\d*))?$/.exec(text.trim());
  if (!m || (m[2] ?? "").length > digits) {
    throw new Error(
      digits ? `Enter an amount like 25.00 (at most ${digits} decimals).` : "Enter a whole amount.",
    );
  }
  const minor = Number(m[1]) * 10 ** digits + Number((m[2] ?? "").padEnd(digits, "0") || 0);
  if (!Number.isSafeInteger(minor) || minor <= 0)
    throw new Error("Enter an amount greater than zero.");
  return minor;
}

const currency = () => state.user?.wallet?.currency ?? "USD";

// ---------- Rendering ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const time = (iso) => el("time", { datetime: iso }, iso ? new Date(iso).toLocaleString() : "");

function renderUser(user) {
  // Older than what this page already showed (a replayed event after a newer one): not shown.
  if (typeof user.version === "number" && user.version < (readMinVersion() ?? 0)) return;
  state.user = user;
  noteVersion(user);
  $("whoami").textContent = `${user.displayName || user.username} (${user.role})`;
  const balance = $("balance");
  balance.textContent = formatMoney(user.wallet.balance, user.wallet.currency);
  balance.dataset.minor = String(user.wallet.balance);
  for (const c of document.querySelectorAll(".currency")) c.textContent = user.wallet.currency;
  // Never overwrite what the user is typing; a live update applies once they save or sign in again.
  if (!state.profileDirty) {
    /** @type {HTMLInputElement} */ ($("profile-display-name")).value = user.displayName ?? "";
    /** @type {HTMLTextAreaElement} */ ($("profile-bio")).value = user.bio ?? "";
  }
}

function renderList(list, items, renderItem, emptyText) {
  list.replaceChildren(
    ...(items.length ? items.map(renderItem) : [el("li", { class: "empty" }, emptyText)]),
  );
}

function renderRequests(items) {
  renderList(
    $("request-list"),
    items,
    (r) =>
      el(
        "li",
        { "data-testid": "request-item", "data-id": r.id, "data-status": r.status },
        el(
          "span",
          { class: "grow" },
          `${r.kind === "deposit" ? "Deposit" : "Withdrawal"} of ${formatMoney(r.amount, currency())}`,
        ),
        el("span", { class: `status ${r.status}` }, r.status),
        time(r.createdAt),
      ),
    "No requests yet.",
  );
}

function eventSummary(ev) {
  const who = ev.userId === state.user?.id ? "" : `${ev.user?.username ?? ev.userId}: `;
  const what = ev.reason || `updated ${(ev.changed ?? []).join(", ") || "profile"}`;
  const bal = ev.user?.wallet
    ? ` — balance ${formatMoney(ev.user.wallet.balance, ev.user.wallet.currency)}`
    : "";
  return who + what + bal;
}

function addEvent(ev) {
  const list = $("event-list");
  list.querySelector(".empty")?.remove();
  list.prepend(
    el(
      "li",
      { "data-testid": "event-item" },
      el("span", { class: "grow" }, eventSummary(ev)),
      time(ev.at),
    ),
  );
  while (list.children.length > MAX_EVENTS) list.lastElementChild?.remove();
}

function setLive(kind, text) {
  const live = $("live-status");
  live.dataset.state = kind;
  live.textContent = text;
}

// ---------- Loading ----------

async function loadMe() {
  const me = await api("GET", "/users/me", undefined, minVersionHeaders());
  renderUser(me.user);
}

async function loadRequests() {
  const [deps, wds] = await Promise.all([
    api("GET", "/deposits?limit=20"),
    api("GET", "/withdrawals?limit=20"),
  ]);
  // Admins get everyone's requests from these routes; this list is about the caller's own.
  const mine = (r) => r.userId === state.user?.id;
  const items = [
    ...deps.items.filter(mine).map((r) => ({ ...r, kind: "deposit" })),
    ...wds.items.filter(mine).map((r) => ({ ...r, kind: "withdrawal" })),
  ].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  renderRequests(items);
}

async function loadAdmin() {
  const [deps, wds, stats] = await Promise.all([
    api("GET", "/deposits?status=pending&limit=50"),
    api("GET", "/withdrawals?status=pending&limit=50"),
    api("GET", "/cache/stats"),
  ]);
  renderPending($("admin-deposits"), "deposit", deps.items);
  renderPending($("admin-withdrawals"), "withdrawal", wds.items);
  renderStats(stats);
}

function renderPending(list, kind, items) {
  renderList(
    list,
    items,
    (r) => {
      const amount = formatMoney(r.amount, currency());
      const from = r.senderName ?? r.destination ?? r.userId;
      const label = `${kind} of ${amount} (${kind === "deposit" ? "from" : "to"} ${from})`;
      return el(
        "li",
        { "data-testid": `pending-${kind}`, "data-id": r.id, "data-amount": r.amount },
        el(
          "span",
          { class: "grow" },
          el("strong", {}, amount),
          " ",
          el(
            "span",
            { class: "meta" },
            `${kind === "deposit" ? "from" : "to"} ${from} · user ${r.userId}`,
          ),
        ),
        el(
          "span",
          { class: "actions" },
          el(
            "button",
            {
              type: "button",
              "data-testid": `approve-${kind}`,
              "aria-label": `Approve ${label}`,
              onclick: (e) => decide(e, kind, r.id, "approve"),
            },
            "Approve",
          ),
          el(
            "button",
            {
              type: "button",
              class: "danger",
              "data-testid": `reject-${kind}`,
              "aria-label": `Reject ${label}`,
              onclick: (e) => decide(e, kind, r.id, "reject"),
            },
            "Reject",
          ),
        ),
      );
    },
    `No pending ${kind}s.`,
  );
}

function renderStats(s) {
  const rows = [
    ["User keys", s.totalUserKeys],
    ["Email keys", s.emailKeys],
    ["Redis", s.redisConnected ? "connected" : "down"],
    ["Hits", s.hits],
    ["Misses", s.misses],
    ["Hit ratio", typeof s.hitRatio === "number" ? `${(s.hitRatio * 100).toFixed(1)} %` : "—"],
    ["As of", s.timestamp ? new Date(s.timestamp).toLocaleTimeString() : "—"],
  ];
  $("cache-stats").replaceChildren(
    ...rows.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, String(v ?? "—")))),
  );
  renderConsistencyChart($("consistency-chart"), s.consistency);
}

async function decide(event, kind, id, action) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  // Disabled while in flight: a double click must not even send a second request.
  for (const b of button.closest("li")?.querySelectorAll("button") ?? []) b.disabled = true;
  try {
    await api("PUT", `/${kind}s/${id}/${action}`, {});
    showInfo(
      `${kind[0].toUpperCase() + kind.slice(1)} ${action === "approve" ? "approved" : "rejected"}.`,
    );
    await loadAdmin();
  } catch (err) {
    showError(err);
    for (const b of button.closest("li")?.querySelectorAll("button") ?? []) b.disabled = false;
  }
}

/** Collapses a burst of events (an approval is two balance changes) into one refetch. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    loadRequests().catch(showError);
    if (state.user?.role === "admin") loadAdmin().catch(showError);
  }, 150);
}

// ---------- Live updates ----------

function onUserEvent(ev) {
  // Admins receive everyone's events; only the caller's own ones carry their balance.
  if (
    ev.userId === state.user?.id &&
    ev.user &&
    (ev.user.version ?? 0) >= (state.user.version ?? 0)
  )
    renderUser(ev.user);
  addEvent(ev);
  scheduleRefresh();
}

/**
 * Opens the live stream through the client's helper: EventSource with a fresh 60 s ticket per
 * connect (EventSource cannot send headers), resuming after the last event id it saw.
 */
function connect() {
  closeStream();
  setLive("connecting", "Connecting…");
  state.stream = subscribeUserEvents({
    transport: "eventsource",
    token: () => state.token,
    lastEventId: state.lastEventId || undefined,
    retryMs: 1000,
    maxRetryMs: 10_000,
    onOpen() {
      setLive("live", "Live");
      // Replay covers a bounded window; a refetch after any gap makes the page right regardless.
      if (state.everOpened) refreshAll();
      if ($("alert").dataset.outage === "true") clearAlert();
      state.everOpened = true;
    },
    onEvent(ev, id) {
      if (id) state.lastEventId = id;
      onUserEvent(ev);
    },
    onError: () => setLive("connecting", "Reconnecting…"),
    onReconnecting() {
      // Exposed for diagnostics (and the e2e test): how often the page had to mint a new ticket.
      const live = $("live-status");
      live.dataset.reconnects = String(Number(live.dataset.reconnects ?? 0) + 1);
    },
    onServerClose(reason) {
      // Evicted = the same account opened too many streams elsewhere; reconnecting would just
      // evict the other tab in turn. A shutdown is a restart: let the helper reconnect.
      if (reason === "evicted") {
        closeStream();
        setLive("off", "Paused (open in another tab)");
      }
    },
    onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
  });
}

function closeStream() {
  state.stream?.close();
  state.stream = null;
}

// ---------- Session ----------

async function refreshAll() {
  try {
    await loadMe();
    await loadRequests();
    if (state.user?.role === "admin") await loadAdmin();
  } catch (err) {
    showError(err);
  }
}

async function enter(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await loadMe();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return signOut("Your session has ended. Please sign in again.");
    return showError(err);
  }
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  $("sign-out").hidden = false;
  const admin = state.user.role === "admin";
  $("admin-view").hidden = !admin;
  clearInterval(state.adminPoll);
  // New requests change no user document, so no event announces them: admins also poll.
  if (admin) state.adminPoll = setInterval(() => loadAdmin().catch(() => {}), 10_000);
  // Screen reader and keyboard users land on the new content instead of a vanished form.
  $("main").focus();
  connect();
  refreshAll();
}

function signOut(message) {
  const token = state.token;
  state.token = null;
  state.user = null;
  state.lastEventId = "";
  state.everOpened = false;
  closeStream();
  clearInterval(state.adminPoll);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(MIN_VERSION_KEY);
  // Best effort: the server invalidates the cached user; the page signs out either way.
  if (token)
    client
      .POST(`${API}/auth/logout`, { headers: { authorization: `Bearer ${token}` } })
      .catch(() => {});
  $("auth-view").hidden = false;
  $("app-view").hidden = true;
  $("admin-view").hidden = true;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  $("event-list").replaceChildren();
  setLive("off", "");
  if (message) showInfo(message);
}

// ---------- Forms ----------

/** Runs a submit handler with the button disabled and errors shown in the alert region. */
function onSubmit(formId, handler) {
  const form = /** @type {HTMLFormElement} */ ($(formId));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    clearAlert();
    try {
      await handler(Object.fromEntries(new FormData(form)), form);
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
}

onSubmit("login-form", async ({ email, password }) => {
  const { token } = await api("POST", "/auth/login", { email, password });
  await enter(token);
});

onSubmit("register-form", async ({ email, username, password }) => {
  const { token } = await api("POST", "/auth/register", { email, username, password });
  await enter(token);
});

onSubmit("profile-form", async ({ displayName, bio }) => {
  const user = await api("PATCH", "/users/me", { displayName, bio });
  state.profileDirty = false;
  renderUser(user);
  showInfo("Profile saved.");
});

onSubmit("deposit-form", async ({ amount, senderName }, form) => {
  const minor = parseAmount(String(amount), currency());
  await api("POST", "/deposits/request", { amount: minor, senderName: String(senderName).trim() });
  form.reset();
  showInfo(
    `Deposit of ${formatMoney(minor, currency())} requested. It will be credited once approved.`,
  );
  await loadRequests();
});

onSubmit("withdraw-form", async ({ amount, destination }, form) => {
  const minor = parseAmount(String(amount), currency());
  await api("POST", "/withdrawals/request", {
    amount: minor,
    destination: String(destination).trim(),
  });
  form.reset();
  showInfo(`Withdrawal of ${formatMoney(minor, currency())} requested.`);
  await loadRequests();
});

$("profile-form").addEventListener("input", () => (state.profileDirty = true));
$("sign-out").addEventListener("click", () => signOut("Signed out."));
$("admin-refresh").addEventListener("click", () => loadAdmin().catch(showError));

if (state.token) enter(state.token);
else setLive("off", "");
