// The accountd console: plain JavaScript, no build step, talking only to the public API.
// Safe by construction: every value from the API becomes a text node (never HTML), the access
// token lives in this module's memory only, and only the refresh token is kept, in
// sessionStorage (this tab, until it closes), so a reload does not ask for the password again.

const REFRESH_KEY = "accountd.console.refresh";
const RANK = { public: 0, user: 1, admin: 2, owner: 3 };
const PAGE = 20;

const session = { token: null, user: null };
let refreshing = null;
let tree = null; // { byId: Map, kids: Map(parentId -> [ids]), roots: [ids], open: Set }

// ---------------------------------------------------------------------------------------------
// DOM: elements from data; strings are always text nodes.

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value" && "defaultValue" in el) el.value = el.defaultValue = v;
    else if (k === "value" || k === "checked" || k === "min" || k === "max") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  add(el, kids);
  return el;
}

function add(el, ...kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function clear(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}

let uid = 0;
/** A labelled input: the label names the control for every user, the id ties them. */
function field(label, props) {
  const id = `f${++uid}`;
  return h("div", { class: "field" }, h("label", { for: id }, label), h(props.tag || "input", { ...props, tag: null, id }));
}

function select(label, name, options, value, quiet) {
  const id = `f${++uid}`;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, class: quiet ? "sr-only" : null }, label),
    h("select", { id, name }, options.map((o) => h("option", { value: o, selected: o === value }, o))),
  );
}

function errorBox(err) {
  const list = err instanceof ApiError ? err.messages : [String(err && err.message ? err.message : err)];
  return h("div", { class: "error", role: "alert" }, list.length === 1 ? list[0] : h("ul", {}, list.map((m) => h("li", {}, m))));
}

function fmtTime(s) {
  return s ? s.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "—";
}

function badges(acc) {
  return [
    acc.suspended && h("span", { class: "badge suspended" }, "suspended"),
    acc.closed && h("span", { class: "badge closed" }, "closed"),
  ];
}

function seatBar(acc, big) {
  const used = acc.usedDevices;
  const total = acc.deviceSeats;
  const text = `${used} used, ${acc.freeSeats} free of ${total}`;
  return h(
    "span",
    { class: big ? "seats seatline" : "seats" },
    h("meter", { min: 0, max: Math.max(total, 1), value: used, "aria-label": `Seats of ${acc.name}: ${text}` }),
    h("span", { "aria-hidden": "true" }, big ? text : `${used}/${total}`),
  );
}

// ---------------------------------------------------------------------------------------------
// The API: JSON in and out, the bearer in memory; a 401 refreshes once and tries again.

class ApiError extends Error {
  constructor(status, body) {
    const messages = body && Array.isArray(body.errors)
      ? body.errors
      : [(body && (body.error_description || body.error || body.detail)) || `HTTP ${status}`];
    super(messages.join("; "));
    this.status = status;
    this.messages = messages;
  }
}

function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function api(method, path, body, retried) {
  const headers = { Accept: "application/json" };
  const signed = Boolean(session.token);
  if (signed) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  if (res.status === 401 && signed && !retried && (await refresh())) return api(method, path, body, true);
  const text = res.status === 204 ? "" : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: `HTTP ${res.status}` };
    }
  }
  if (!res.ok) {
    if (res.status === 401 && signed && path !== "/user/logout") ended();
    throw new ApiError(res.status, data);
  }
  return data;
}

const get = (path, params) => api("GET", url(path, params));
const post = (path, body) => api("POST", path, body === undefined ? {} : body);

/** A new access token from the refresh token of this tab; one at a time (they rotate). */
function refresh() {
  const rt = sessionStorage.getItem(REFRESH_KEY);
  if (!rt) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch("/v1/auth/token", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ grant_type: "refresh_token", refresh_token: rt }),
          credentials: "omit",
          cache: "no-store",
        });
        if (!res.ok) return false;
        const t = await res.json();
        session.token = t.access_token;
        if (t.refresh_token) sessionStorage.setItem(REFRESH_KEY, t.refresh_token);
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** The session ended under the page (revoked, expired, its account closed): log in again. */
function ended() {
  if (!session.user && !session.token) return; // already back at the login
  forget();
  loginScreen("Your session has ended. Log in again.");
}

function forget() {
  session.token = null;
  session.user = null;
  tree = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

async function signedIn(answer) {
  session.token = answer.token;
  if (answer.refreshToken) sessionStorage.setItem(REFRESH_KEY, answer.refreshToken);
  session.user = answer.user;
  tree = null;
  if (!location.hash.startsWith("#/accounts/")) location.hash = "";
  await route();
}

// ---------------------------------------------------------------------------------------------
// Roles, as the API gates them (the API decides; these only hide what would be refused).

const role = () => (session.user ? session.user.role : "public");
const atLeast = (r) => RANK[role()] >= RANK[r];
const isOwner = () => role() === "owner";
const isAdmin = () => atLeast("admin");
const isOwn = (acc) => session.user && acc.id === session.user.accountId;
/** Seats and suspension: an ancestor's admin, or the owner; never one's own account. */
const mayGovern = (acc) => isAdmin() && !isOwn(acc);
/** Credentials and activation of another user: only below the caller's role (the owner: anyone). */
const mayActFor = (u) => u.id === session.user.id || isOwner() || RANK[u.role] < RANK[role()];
const grantable = () => Object.keys(RANK).filter((r) => r !== "public" && RANK[r] <= RANK[role()]);

// ---------------------------------------------------------------------------------------------
// Screens

const app = () => document.getElementById("app");

function header() {
  const who = document.getElementById("who");
  if (!session.user) return clear(who);
  clear(
    who,
    h("span", {}, `${session.user.email} `, h("span", { class: "badge" }, session.user.role)),
    h("button", { type: "button", id: "logout", onclick: logout }, "Log out"),
  );
}

async function logout() {
  try {
    await post("/user/logout", {});
  } catch {
    // The session ends here whatever the server says.
  }
  forget();
  location.hash = "";
  await route();
}

/** A form alone on the page (the login, the MFA step); `send` returns what the API answered. */
function screenForm(id, title, intro, fields, label, send) {
  const root = app();
  root.className = "app single";
  header();
  const err = h("div");
  const form = h(
    "form",
    { id, onsubmit: submit, novalidate: true },
    h("h1", { id: "page-title", tabindex: "-1" }, title),
    intro,
    fields,
    err,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, label)),
  );
  clear(root, h("main", { id: "main", tabindex: "-1" }, form));
  form.elements[0].focus();

  async function submit(ev) {
    ev.preventDefault();
    clear(err);
    try {
      const answer = await send(form);
      if (!answer) return;
      if (answer.mfaRequired) return mfaScreen(answer.mfaToken);
      await signedIn(answer);
    } catch (e) {
      add(err, errorBox(e));
    }
  }
}

function loginScreen(message) {
  screenForm(
    "login-form",
    "Log in",
    message && h("p", { class: "notice", role: "status" }, message),
    [
      field("Email or username", { name: "login", type: "text", autocomplete: "username", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ],
    "Log in",
    (form) => {
      const login = form.elements.login.value.trim();
      const body = { password: form.elements.password.value };
      if (login.includes("@")) body.email = login;
      else body.username = login;
      return post("/user/login", body);
    },
  );
}

function mfaScreen(mfaToken) {
  screenForm(
    "mfa-form",
    "Two-factor code",
    [
      h("p", {}, "Enter the 6-digit code from your authenticator app, or one of your recovery codes."),
      h("p", {}, h("a", { href: "#", onclick: (ev) => (ev.preventDefault(), loginScreen()) }, "Back to the login")),
    ],
    field("Code", { name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    "Verify",
    (form) => {
      const code = form.elements.code.value.replace(/\s+/g, "");
      return post("/user/login/mfa", /^\d{6}$/.test(code) ? { mfaToken, code } : { mfaToken, recoveryCode: code });
    },
  );
}

/** A page with nothing to show but the error, and a way out. */
function stuckScreen(title, e) {
  const root = app();
  root.className = "app single";
  header();
  clear(
    root,
    h(
      "main",
      { id: "main", tabindex: "-1" },
      h("h1", { id: "page-title", tabindex: "-1" }, title),
      errorBox(e),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: logout }, "Log out")),
    ),
  );
}

/** TOTP enrolment, for a session that may do nothing else; then the user logs in again. */
async function enrolScreen() {
  let totp;
  try {
    totp = await post("/user/mfa/totp", {});
  } catch (e) {
    return stuckScreen("Cannot set up two-factor login", e);
  }
  screenForm(
    "enrol-form",
    "Set up two-factor login",
    [
      h("p", {}, "This account requires a second factor. Scan the code with an authenticator app (or type the key into it), then enter the 6-digit code it shows."),
      // The server's SVG as an image: it is drawn, never parsed into the page.
      h("img", { src: `data:image/svg+xml,${encodeURIComponent(totp.qrSvg)}`, alt: "QR code of the authenticator key", width: 200, height: 200 }),
      h("p", {}, "Key: ", h("code", {}, totp.secret)),
    ],
    field("Code", { name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    "Turn on two-factor login",
    async (form) => {
      const r = await post("/user/mfa/totp/confirm", { code: form.elements.code.value.replace(/\s+/g, "") });
      recoveryScreen(r.recoveryCodes);
    },
  );
}

function recoveryScreen(codes) {
  screenForm(
    "recovery-form",
    "Two-factor login is on",
    [
      h("p", {}, "Keep these recovery codes somewhere safe: each logs you in once without the app. They are not shown again."),
      h("ul", { id: "recovery-codes" }, codes.map((c) => h("li", {}, h("code", {}, c)))),
    ],
    [],
    "Log in again",
    async () => {
      await logout();
    },
  );
}

/** Every account the caller may see, a page of 1,000 at a time, as a tree by `parentId`. */
async function loadTree() {
  const byId = new Map();
  let next = null;
  do {
    const page = await get("/v1/accounts", { limit: 1000, next });
    for (const a of page.data) byId.set(a.id, a);
    next = page.next;
  } while (next);
  const kids = new Map();
  const roots = [];
  for (const a of byId.values()) {
    if (a.parentId && byId.has(a.parentId)) {
      if (!kids.has(a.parentId)) kids.set(a.parentId, []);
      kids.get(a.parentId).push(a.id);
    } else roots.push(a.id);
  }
  const byName = (x, y) => byId.get(x).name.localeCompare(byId.get(y).name) || (x < y ? -1 : 1);
  roots.sort(byName);
  for (const list of kids.values()) list.sort(byName);
  const open = new Set(tree ? tree.open : []);
  // A few roots open at first (an admin's own account); many (an operator's customers) stay shut.
  if (!tree && roots.length <= 10) for (const r of roots) open.add(r);
  tree = { byId, kids, roots, open, query: tree ? tree.query : "" };
}

function shell() {
  const root = app();
  root.className = "app";
  header();
  let side = document.getElementById("side");
  let main = document.getElementById("main");
  if (!side || !main) {
    side = h("nav", { id: "side", class: "side", "aria-label": "Accounts" });
    main = h("main", { id: "main", tabindex: "-1" });
    clear(root, side, main);
  }
  return { side, main };
}

function renderSide(side, currentId) {
  // The current account is always in view, and its children: it and its ancestors are open.
  if (tree.byId.has(currentId)) tree.open.add(currentId);
  for (let a = tree.byId.get(currentId); a && a.parentId; a = tree.byId.get(a.parentId)) tree.open.add(a.parentId);
  const search = h("input", {
    type: "search",
    id: "tree-search",
    placeholder: "name, email or id",
    value: tree.query,
    oninput: debounce(() => {
      tree.query = search.value.trim().toLowerCase();
      drawTree();
    }, 120),
  });
  const list = h("ul", { class: "tree", id: "tree" });
  const toolbar = h("div", { class: "toolbar" });
  clear(
    side,
    h("h2", {}, "Accounts"),
    h("div", { class: "field" }, h("label", { for: "tree-search" }, "Search accounts"), search),
    h("p", { class: "muted", id: "tree-count", "aria-live": "polite" }),
    toolbar,
    list,
  );
  if (isOwner()) add(toolbar, newAccountForm(), mintSeatsForm());
  drawTree();

  function drawTree() {
    const q = tree.query;
    let shown = null;
    if (q) {
      // Matches and their ancestors, opened down to each match.
      shown = new Set();
      for (const a of tree.byId.values()) {
        const hay = `${a.name}\n${a.email || ""}\n${a.id}`.toLowerCase();
        if (!hay.includes(q)) continue;
        for (let x = a; x && !shown.has(x.id); x = tree.byId.get(x.parentId)) shown.add(x.id);
      }
    }
    const count = document.getElementById("tree-count");
    count.textContent = shown
      ? `${shown.size} of ${tree.byId.size} accounts shown`
      : `${tree.byId.size} account${tree.byId.size === 1 ? "" : "s"}`;
    clear(list, tree.roots.filter((id) => !shown || shown.has(id)).map((id) => node(id, shown)));
  }

  function node(id, shown) {
    const acc = tree.byId.get(id);
    const kids = (tree.kids.get(id) || []).filter((k) => !shown || shown.has(k));
    const open = shown ? true : tree.open.has(id);
    const li = h("li", {});
    const row = h("div", { class: "node" });
    if (kids.length && !shown) {
      add(
        row,
        h(
          "button",
          {
            type: "button",
            class: "toggle",
            "aria-expanded": String(open),
            "aria-label": `${open ? "Collapse" : "Expand"} ${acc.name}`,
            onclick: () => {
              if (tree.open.has(id)) tree.open.delete(id);
              else tree.open.add(id);
              li.replaceWith(node(id, shown));
              li.isConnected || document.querySelector(`[data-id="${CSS.escape(id)}"] .toggle`)?.focus();
            },
          },
          h("span", { "aria-hidden": "true" }, open ? "−" : "+"),
        ),
      );
    } else add(row, h("span", { class: "spacer", "aria-hidden": "true" }));
    add(
      row,
      h("a", { href: `#/accounts/${encodeURIComponent(id)}`, "aria-current": id === currentId ? "page" : null }, acc.name),
      badges(acc),
      seatBar(acc, false),
    );
    li.dataset.id = id;
    add(li, row);
    if (open && kids.length) add(li, h("ul", {}, kids.map((k) => node(k, shown))));
    return li;
  }
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// ---------------------------------------------------------------------------------------------
// Owner tools in the side bar.

function newAccountForm() {
  const form = actionForm(
    { id: "new-account" },
    [
      field("Name", { name: "name", type: "text", required: true }),
      field("Admin email", { name: "email", type: "email", required: true }),
      field("Device seats", { name: "seats", type: "number", min: 0, value: "0" }),
    ],
    "Create account",
    async (f) => {
      const r = await post("/v1/accounts", {
        name: f.elements.name.value,
        email: f.elements.email.value,
        deviceSeats: Number(f.elements.seats.value || 0),
      });
      await reloadTree();
      location.hash = `#/accounts/${encodeURIComponent(r.account.id)}`;
    },
  );
  return h("details", {}, h("summary", {}, "New top-level account"), form);
}

function mintSeatsForm() {
  const form = actionForm(
    { id: "mint-seats" },
    field("Seats", { name: "seats", type: "number", min: 1, value: "1", required: true }),
    "Mint token",
    async (f, out) => {
      const r = await post("/v1/seat-tokens", { seats: Number(f.elements.seats.value) });
      add(out, h("p", { class: "notice", role: "status" }, "Token (shown once): ", h("code", {}, r.token)));
    },
  );
  return h("details", {}, h("summary", {}, "Mint a seat token"), form);
}

async function reloadTree() {
  await loadTree();
  const side = document.getElementById("side");
  if (side) renderSide(side, currentAccountId());
}

function currentAccountId() {
  const m = location.hash.match(/^#\/accounts\/([^/]+)$/);
  try {
    return m ? decodeURIComponent(m[1]) : null;
  } catch {
    return m[1]; // not an escape the browser can read: the API answers it 404
  }
}

// ---------------------------------------------------------------------------------------------
// The account page: one section per resource, each loading and failing on its own.

async function accountPage(main, id, gen) {
  let acc;
  try {
    acc = await get(`/v1/accounts/${encodeURIComponent(id)}`);
    if (gen !== undefined && gen !== routes) return;
  } catch (e) {
    if (gen !== undefined && gen !== routes) return;
    clear(
      main,
      h("h1", { id: "page-title", tabindex: "-1" }, e.status === 404 ? "Not found" : "Cannot show this account"),
      errorBox(e),
      h("p", {}, h("a", { href: "#" }, "Back to your account")),
    );
    return;
  }
  const sections = [detailsSection(acc)];
  if (!acc.closed) {
    if (isAdmin()) sections.push(usersSection(acc));
    sections.push(childrenSection(acc), devicesSection(acc), groupsSection(acc));
    if (isAdmin()) sections.push(webhooksSection(acc));
    sections.push(credentialsSection(acc));
    if (isAdmin()) sections.push(eventsSection(acc));
  }
  clear(
    main,
    h("h1", { id: "page-title", tabindex: "-1" }, acc.name, badges(acc)),
    h("p", { class: "muted" }, acc.email || "no email", " · ", h("code", {}, acc.id)),
    sections,
  );
}

function section(id, title, ...body) {
  return h("section", { id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h`, tabindex: "-1" }, title), body);
}

/** A table's box: it scrolls sideways on narrow screens, so the keyboard can reach it too. */
const scrollBox = (label) => ({ class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Table of ${label.toLowerCase()}` });

/** A list that pages with next/prev cursors, drawn by `row` into a table. */
function pagedTable(label, columns, load, row) {
  const wrap = h("div", {});
  let cursor = {};
  let asked = 0; // the latest request: an older answer (a slower search) is dropped
  async function draw() {
    const mine = ++asked;
    let page;
    try {
      page = await load(cursor);
    } catch (e) {
      if (mine === asked) clear(wrap, errorBox(e));
      return;
    }
    if (mine !== asked) return;
    if (!page.data.length && (cursor.next || cursor.prev)) {
      // The page emptied (its last row went): back to the first page.
      cursor = {};
      return draw();
    }
    const pager = h("div", { class: "pager" });
    if (page.prev) add(pager, h("button", { type: "button", onclick: () => go({ prev: page.prev }) }, "Previous page"));
    if (page.next) add(pager, h("button", { type: "button", onclick: () => go({ next: page.next }) }, "Next page"));
    clear(
      wrap,
      page.data.length
        ? h(
            "div",
            scrollBox(label),
            h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, page.data.map(row))),
          )
        : h("p", { class: "muted" }, "None."),
      pager,
    );
  }
  async function go(c) {
    cursor = c;
    await draw();
    // The keyboard stays on the list it paged through.
    const box = wrap.querySelector(".table-wrap");
    if (box) box.focus();
  }
  wrap.reload = (reset) => {
    if (reset) cursor = {};
    return draw();
  };
  draw();
  return wrap;
}

/** A form whose errors appear inside it, next to its controls. */
function actionForm(props, controls, label, act) {
  const err = h("div");
  const btn = h("button", { type: "submit" }, label);
  const form = h("form", { class: "inline", ...props, onsubmit: submit }, controls, btn, err);
  function submit(ev) {
    ev.preventDefault();
    perform(btn, err, () => act(form, err), props.id && `#${CSS.escape(props.id)} button[type=submit]`);
  }
  return form;
}

/** A button that acts, showing the API's error next to itself. */
function actButton(label, act, props) {
  const err = h("span");
  const btn = h("button", { type: "button", ...props, onclick: () => perform(btn, err, act, props && props.id && `#${CSS.escape(props.id)}`) }, label);
  return h("span", { class: "act" }, btn, err);
}

/**
 * Runs `act` for a control. The control says it is busy with aria-disabled (a disabled button
 * would drop the keyboard focus), the API's error appears in `err`, and when the page was
 * redrawn under it the focus goes to the same control again (`again`), or to its section.
 */
async function perform(btn, err, act, again) {
  if (btn.getAttribute("aria-disabled") === "true") return;
  const where = btn.closest("section");
  clear(err);
  btn.setAttribute("aria-disabled", "true");
  try {
    await act();
  } catch (e) {
    add(err, errorBox(e));
  } finally {
    btn.removeAttribute("aria-disabled");
  }
  if (btn.isConnected) return;
  const heading = where && where.id && document.querySelector(`#${where.id} h2`);
  const target = (again && document.querySelector(again)) || heading || document.getElementById("page-title");
  if (target) target.focus();
}

async function refreshAccount(acc) {
  await reloadTree();
  await accountPage(document.getElementById("main"), acc.id);
}

function detailsSection(acc) {
  const plan = h("div", {}, h("p", { class: "muted" }, "Loading plan…"));
  get(`/v1/accounts/${encodeURIComponent(acc.id)}/plan`).then(
    async (p) => {
      const limits = Object.entries(p.planData || {});
      clear(
        plan,
        h("h3", {}, `Plan: ${p.planId}`),
        limits.length ? h("dl", { class: "details" }, limits.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])) : null,
      );
      if (isOwner() && !acc.closed) {
        const plans = await get("/v1/plans", { limit: 1000 }).catch(() => ({ data: [] }));
        add(
          plan,
          actionForm({ id: "plan-form" }, select("Move to plan", "planId", plans.data.map((x) => x.id), p.planId), "Change plan", async (f) => {
            await api("PUT", `/v1/accounts/${encodeURIComponent(acc.id)}/plan`, { planId: f.elements.planId.value });
            await refreshAccount(acc);
          }),
        );
      }
    },
    (e) => clear(plan, errorBox(e)),
  );
  const parent = acc.parentId && tree && tree.byId.get(acc.parentId);
  const body = [
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "Seats"),
      h("dd", {}, seatBar(acc, true)),
      h("dt", {}, "Parent"),
      h(
        "dd",
        {},
        !acc.parentId ? "none (top level)" : parent ? h("a", { href: `#/accounts/${encodeURIComponent(acc.parentId)}` }, parent.name) : `${acc.parentId} (outside your accounts)`,
      ),
      h("dt", {}, "Status"),
      h("dd", {}, acc.closed ? "closed" : acc.suspended ? "suspended" : "active"),
      h("dt", {}, "Require MFA"),
      h("dd", {}, acc.requireMfa ? "yes" : "no"),
      h("dt", {}, "Created"),
      h("dd", {}, fmtTime(acc.created)),
    ),
    plan,
  ];
  if (!acc.closed && isAdmin()) {
    body.push(
      h("h3", {}, "Edit"),
      actionForm(
        { id: "edit-account" },
        [
          field("Name", { name: "name", type: "text", value: acc.name }),
          field("Email", { name: "email", type: "email", value: acc.email || "" }),
          field("Require MFA (here and below)", { name: "requireMfa", type: "checkbox", checked: acc.requireMfa }),
        ],
        "Save",
        async (f) => {
          const patch = { name: f.elements.name.value };
          if (f.elements.email.value) patch.email = f.elements.email.value;
          if (f.elements.requireMfa.checked !== acc.requireMfa) patch.requireMfa = f.elements.requireMfa.checked;
          await api("PUT", `/v1/accounts/${encodeURIComponent(acc.id)}`, patch);
          await refreshAccount(acc);
        },
      ),
    );
    if (mayGovern(acc)) {
      body.push(
        actionForm({ id: "seats-form" }, field("Device seats", { name: "deviceSeats", type: "number", min: 0, required: true, value: String(acc.deviceSeats) }), "Set seats", async (f) => {
          await post(`/v1/accounts/${encodeURIComponent(acc.id)}`, { deviceSeats: Number(f.elements.deviceSeats.value) });
          await refreshAccount(acc);
        }),
        h(
          "div",
          { class: "actions" },
          actButton(acc.suspended ? "Unsuspend" : "Suspend", async () => {
            await post(`/v1/accounts/${encodeURIComponent(acc.id)}`, { suspended: !acc.suspended });
            await refreshAccount(acc);
          }, { id: "suspend" }),
        ),
      );
    }
    body.push(
      actionForm({ id: "redeem-form" }, field("Seat token", { name: "token", type: "text", autocomplete: "off", required: true }), "Redeem", async (f) => {
        await post(`/v1/accounts/${encodeURIComponent(acc.id)}/seats`, { token: f.elements.token.value.trim() });
        await refreshAccount(acc);
      }),
    );
  }
  if (isAdmin()) {
    const danger = h("div", { class: "actions" });
    // An admin closes its own account; the owner any other (its own holds the last owner).
    if (!acc.closed && (isOwner() ? !isOwn(acc) : isOwn(acc))) {
      add(danger, actButton("Close account…", () => confirmClose(acc), { class: "danger", id: "close" }));
    }
    if (!isOwn(acc) && acc.parentId) {
      add(
        danger,
        actButton("Delete (empty) account", async () => {
          if (!window.confirm(`Delete the empty account "${acc.name}"? Its seats return to its parent.`)) return;
          await api("DELETE", `/v1/accounts/${encodeURIComponent(acc.id)}`);
          await reloadTree();
          location.hash = `#/accounts/${encodeURIComponent(acc.parentId)}`;
        }, { class: "danger", id: "delete" }),
      );
    }
    body.push(danger);
  }
  return section("details", "Details", body);
}

/** Closing is irreversible: the dialog asks for the account's name before it enables the button. */
function confirmClose(acc) {
  return new Promise((resolve) => {
    const err = h("div");
    const input = h("input", { type: "text", id: "close-confirm", autocomplete: "off" });
    const ok = h("button", { type: "submit", class: "danger", disabled: true }, `Close ${acc.name}`);
    const dlg = h(
      "dialog",
      { id: "close-dialog", "aria-labelledby": "close-title" },
      h(
        "form",
        { method: "dialog", onsubmit: submit },
        h("h2", { id: "close-title" }, `Close the account "${acc.name}"?`),
        h("p", {}, "This removes its users, tokens, devices and groups. It cannot be undone."),
        h("label", { for: "close-confirm" }, `Type the account's name, ${acc.name}, to confirm`),
        input,
        err,
        h("div", { class: "actions" }, ok, h("button", { type: "button", onclick: () => dlg.close() }, "Cancel")),
      ),
    );
    input.addEventListener("input", () => {
      ok.disabled = input.value !== acc.name;
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve();
    });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();

    async function submit(ev) {
      ev.preventDefault();
      if (input.value !== acc.name) return;
      clear(err);
      try {
        await post(`/v1/accounts/${encodeURIComponent(acc.id)}/close`, {});
      } catch (e) {
        add(err, errorBox(e));
        return;
      }
      // The page is redrawn under the dialog first, so the focus has somewhere to go.
      try {
        await refreshAccount(acc);
      } finally {
        dlg.close();
      }
    }
  });
}

function usersSection(acc) {
  const accQ = encodeURIComponent(acc.id);
  let filter = "";
  const table = pagedTable(
    "Users",
    ["Email", "Name", "Role", "Status", "Actions"],
    (c) => get(`/v1/accounts/${accQ}/users`, { limit: PAGE, filter, ...c }),
    (u) => {
      const me = session.user.id === u.id;
      const actions = h("div", { class: "actions" });
      if (!me && RANK[u.role] <= RANK[role()]) {
        const change = actionForm({ id: `role-${u.id}`, "aria-label": `Role of ${u.email}` }, select(`Role of ${u.email}`, "role", grantable(), u.role, true), "Change role", async (f) => {
          try {
            await post("/user/updateRole", { id: u.id, role: f.elements.role.value });
          } catch (e) {
            f.reset(); // the select shows the role the user still has
            throw e;
          }
          await table.reload();
        });
        change.querySelector("button").setAttribute("aria-label", `Change role of ${u.email}`);
        add(actions, change);
        if (mayActFor(u)) {
          const verb = u.active === false ? "Reactivate" : "Deactivate";
          add(
            actions,
            actButton(verb, async () => {
              await post("/user/update", { id: u.id, active: u.active === false });
              forgetCredentials(u);
              await table.reload();
            }, { "aria-label": `${verb} ${u.email}` }),
          );
        }
        add(
          actions,
          actButton("Remove", async () => {
            if (!window.confirm(`Remove the user ${u.email}?`)) return;
            await post("/user/remove", { id: u.id });
            forgetCredentials(u);
            await table.reload();
          }, { class: "danger", "aria-label": `Remove ${u.email}` }),
        );
      }
      if (RANK[u.role] <= RANK[role()]) {
        add(actions, h("button", { type: "button", class: "link", "aria-label": `Tokens and sessions of ${u.email}`, onclick: () => showCredentials(u) }, "Tokens and sessions"));
      }
      return h(
        "tr",
        { "data-email": u.email },
        h("td", {}, u.email),
        h("td", {}, [u.first, u.last].filter(Boolean).join(" ") || u.username || "—"),
        h("td", {}, u.role),
        h("td", {}, u.status, u.active === false ? h("span", { class: "badge inactive" }, "deactivated") : null),
        h("td", {}, actions),
      );
    },
  );
  table.id = "users-table";
  const search = h("input", {
    type: "search",
    id: "user-search",
    oninput: debounce(() => {
      filter = search.value.trim();
      table.reload(true);
    }, 200),
  });
  const invite = actionForm(
    { id: "invite-form" },
    [field("Email", { name: "email", type: "email", required: true }), select("Role", "role", grantable(), "user")],
    "Invite",
    async (f, err) => {
      const u = await post("/user/create", { email: f.elements.email.value, role: f.elements.role.value, accountId: acc.id, sendInvite: true });
      f.reset();
      add(err, h("p", { class: "notice", role: "status" }, `Invitation sent to ${u.email}.`));
      // The list finds the invitee, wherever it would page.
      search.value = filter = u.email;
      await table.reload(true);
    },
  );
  return section(
    "users",
    "Users",
    h("div", { class: "field" }, h("label", { for: "user-search" }, "Find users"), search),
    table,
    h("h3", {}, "Invite a user"),
    invite,
  );
}

function childrenSection(acc) {
  const accQ = encodeURIComponent(acc.id);
  const list = h("div", {});
  get(`/v1/accounts/${accQ}/children`).then(
    (page) => {
      const kids = page.data.filter((a) => a.id !== acc.id);
      clear(
        list,
        kids.length
          ? h(
              "ul",
              { id: "children-list" },
              kids.map((k) => h("li", {}, h("a", { href: `#/accounts/${encodeURIComponent(k.id)}` }, k.name), badges(k), " ", seatBar(k, false))),
            )
          : h("p", { class: "muted" }, "No child accounts."),
      );
    },
    (e) => clear(list, errorBox(e)),
  );
  const body = [list];
  if (isAdmin()) {
    body.push(
      h("h3", {}, "New child account"),
      actionForm(
        { id: "child-form" },
        [
          field("Name", { name: "name", type: "text", required: true }),
          field("Email (optional)", { name: "email", type: "email" }),
          field("Device seats", { name: "deviceSeats", type: "number", min: 0, value: "0" }),
        ],
        "Create child",
        async (f) => {
          const child = { name: f.elements.name.value, deviceSeats: Number(f.elements.deviceSeats.value || 0) };
          if (f.elements.email.value) child.email = f.elements.email.value;
          await post(`/v1/accounts/${accQ}/children`, child);
          await refreshAccount(acc);
        },
      ),
    );
  }
  return section("children", "Child accounts", body);
}

function devicesSection(acc) {
  const accQ = encodeURIComponent(acc.id);
  const table = pagedTable(
    "Devices",
    isAdmin() ? ["Name", "Id", "Created", "Actions"] : ["Name", "Id", "Created"],
    (c) => get(`/v1/accounts/${accQ}/devices`, { limit: PAGE, ...c }),
    (d) =>
      h(
        "tr",
        {},
        h("td", {}, d.name),
        h("td", {}, h("code", {}, d.id)),
        h("td", {}, fmtTime(d.created)),
        isAdmin() &&
          h(
            "td",
            {},
            actButton("Remove", async () => {
              await api("DELETE", `/v1/accounts/${accQ}/devices/${encodeURIComponent(d.id)}`);
              await refreshAccount(acc);
            }, { class: "danger", "aria-label": `Remove device ${d.name}` }),
        ),
      ),
  );
  const body = [table];
  if (isAdmin()) {
    body.push(
      actionForm({ id: "device-form" }, field("Device name", { name: "name", type: "text", required: true }), "Add device", async (f) => {
        await post(`/v1/accounts/${accQ}/devices`, { name: f.elements.name.value });
        await refreshAccount(acc);
      }),
    );
  }
  return section("devices", "Devices", body);
}

function groupsSection(acc) {
  const params = isAdmin() ? { accountId: acc.id } : {};
  const table = pagedTable(
    "Groups",
    isAdmin() ? ["Group", "Labels", "Created", "Actions"] : ["Group", "Labels", "Created"],
    (c) => get("/v1/groups", { limit: PAGE, ...params, ...c }),
    (g) =>
      h(
        "tr",
        {},
        h("td", {}, g.id),
        h("td", {}, Object.entries(g.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—"),
        h("td", {}, fmtTime(g.created)),
        isAdmin() &&
          h(
            "td",
            {},
            actButton("Delete", async () => {
              await api("DELETE", url(`/v1/groups/${encodeURIComponent(g.id)}`, params));
              await table.reload();
            }, { class: "danger", "aria-label": `Delete group ${g.id}` }),
        ),
      ),
  );
  const body = [table];
  if (isAdmin()) {
    body.push(
      actionForm({ id: "group-form" }, field("Group id", { name: "id", type: "text", required: true }), "Create group", async (f) => {
        await post("/v1/groups", { id: f.elements.id.value, accountId: acc.id });
        f.reset();
        await table.reload(true);
      }),
    );
  }
  return section("groups", "Groups", body);
}

function webhooksSection(acc) {
  const list = h("div", {});
  const out = h("div", {});
  async function draw() {
    try {
      const hooks = [];
      let next = null;
      do {
        const page = await get("/v1/webhooks", { limit: 1000, next });
        hooks.push(...page.data.filter((w) => w.accountId === acc.id));
        next = page.next;
      } while (next);
      clear(
        list,
        hooks.length
          ? h(
              "div",
              scrollBox("Webhooks"),
              h(
                "table",
                {},
                h("thead", {}, h("tr", {}, ["URL", "Events", "Enabled", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
                h(
                  "tbody",
                  {},
                  hooks.map((w) =>
                    h(
                      "tr",
                      {},
                      h("td", {}, w.url),
                      h("td", {}, (w.events || []).join(", ")),
                      h("td", {}, w.enabled ? "yes" : "no"),
                      h(
                        "td",
                        {},
                        h(
                          "div",
                          { class: "actions" },
                          actButton("Ping", async () => {
                            await post(`/v1/webhooks/${encodeURIComponent(w.id)}/ping`, {});
                            clear(out, h("p", { class: "notice", role: "status" }, `Ping queued for ${w.url}.`));
                          }, { "aria-label": `Ping webhook ${w.url}` }),
                          actButton(w.enabled ? "Disable" : "Enable", async () => {
                            await api("PUT", `/v1/webhooks/${encodeURIComponent(w.id)}`, { enabled: !w.enabled });
                            await draw();
                          }, { "aria-label": `${w.enabled ? "Disable" : "Enable"} webhook ${w.url}` }),
                          actButton("Delete", async () => {
                            await api("DELETE", `/v1/webhooks/${encodeURIComponent(w.id)}`);
                            await draw();
                          }, { class: "danger", "aria-label": `Delete webhook ${w.url}` }),
                          h("button", { type: "button", class: "link", "aria-label": `Deliveries of ${w.url}`, onclick: () => showDeliveries(w) }, "Deliveries"),
                        ),
                      ),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "None."),
      );
    } catch (e) {
      clear(list, errorBox(e));
    }
  }
  draw();
  const form = actionForm(
    { id: "webhook-form" },
    [
      field("URL", { name: "url", type: "url", required: true, placeholder: "https://" }),
      field("Events (comma-separated)", { name: "events", type: "text", value: "*" }),
    ],
    "Add webhook",
    async (f) => {
      const events = f.elements.events.value.split(",").map((s) => s.trim()).filter(Boolean);
      const w = await post("/v1/webhooks", { url: f.elements.url.value, events, accountId: acc.id });
      f.reset();
      clear(out, h("p", { class: "notice", role: "status" }, "Signing secret (shown once): ", h("code", {}, w.secret)));
      await draw();
    },
  );
  const deliveries = h("div", { id: "deliveries" });
  /** A subscription's deliveries; what did not succeed can be retried now. */
  function showDeliveries(w) {
    const wid = encodeURIComponent(w.id);
    const table = pagedTable(
      "Deliveries",
      ["Event", "Status", "Attempts", "Last answer", "Next attempt", "Actions"],
      (c) => get(`/v1/webhooks/${wid}/deliveries`, { limit: PAGE, ...c }),
      (d) =>
        h(
          "tr",
          {},
          h("td", {}, d.eventType),
          h("td", {}, d.status),
          h("td", {}, String(d.attempts)),
          h("td", {}, d.lastError || (d.lastStatus ? `HTTP ${d.lastStatus}` : "—")),
          h("td", {}, fmtTime(d.nextAttemptAt)),
          h(
            "td",
            {},
            d.status === "succeeded"
              ? null
              : actButton("Retry", async () => {
                  await post(`/v1/webhooks/${wid}/deliveries/${encodeURIComponent(d.id)}/retry`, {});
                  await table.reload();
                }, { "aria-label": `Retry the ${d.eventType} delivery` }),
          ),
        ),
    );
    clear(deliveries, h("h3", { tabindex: "-1", id: "deliveries-of" }, `Deliveries to ${w.url}`), table);
    document.getElementById("deliveries-of").focus();
  }
  return section("webhooks", "Webhooks", list, out, form, deliveries);
}

function eventsSection(acc) {
  const list = h("tbody", {});
  const more = h("div", { class: "pager" });
  let after = null;
  async function load() {
    try {
      const page = await get("/v1/events", { accountId: acc.id, limit: 50, after });
      add(
        list,
        page.data.map((e) =>
          h("tr", {}, h("td", {}, fmtTime(e.occurredAt)), h("td", {}, e.type), h("td", {}, h("code", {}, e.actorId || "—"))),
        ),
      );
      after = page.next;
      clear(more, page.data.length === 50 && page.next ? h("button", { type: "button", onclick: loadMore }, "Load more events") : null);
    } catch (e) {
      clear(more, errorBox(e));
    }
  }
  async function loadMore() {
    await load();
    // The keyboard goes on from where it was: the next button, or the list when it ended.
    (more.querySelector("button") || box).focus();
  }
  load();
  const box = h("div", scrollBox("Events"), h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Event", "Actor"].map((c) => h("th", { scope: "col" }, c)))), list));
  return section(
    "events",
    "Event trail",
    h("p", { class: "muted" }, "Oldest first, in the order the changes were committed (kept for the retention period)."),
    box,
    more,
  );
}

/** Tokens and sessions of one user: the caller's own on its account, or the user picked in Users. */
let credentialsBox = null;
function credentialsSection(acc) {
  credentialsBox = h("div", {});
  if (isOwn(acc)) showCredentials(session.user, true);
  else add(credentialsBox, h("p", { class: "muted" }, isAdmin() ? "Pick a user's “Tokens and sessions” above." : "—"));
  return section("credentials", "Tokens and sessions", credentialsBox);
}

/** A removed or deactivated user's credentials are gone: so is their panel. */
function forgetCredentials(u) {
  if (credentialsBox && credentialsBox.dataset.user === u.id) {
    delete credentialsBox.dataset.user;
    clear(credentialsBox, h("p", { class: "muted" }, `${u.email} has no credentials any more.`));
  }
}

function showCredentials(u, quiet) {
  if (!credentialsBox) return;
  const me = u.id === session.user.id;
  const q = me ? {} : { userId: u.id };
  const tokens = pagedTable(
    "Personal access tokens",
    ["Description", "Created", "Last used", "Expires", "Actions"],
    (c) => get("/v1/tokens", { limit: PAGE, ...q, ...c }),
    (t) =>
      h(
        "tr",
        {},
        h("td", {}, t.description),
        h("td", {}, fmtTime(t.created)),
        h("td", {}, fmtTime(t.lastUsed)),
        h("td", {}, fmtTime(t.expiresAt)),
        h("td", {}, actButton("Revoke", async () => {
          await api("DELETE", `/v1/tokens/${encodeURIComponent(t.id)}`);
          clear(out);
          await tokens.reload();
        }, { class: "danger", "aria-label": `Revoke token ${t.description}` })),
      ),
  );
  const sessions = pagedTable(
    "Sessions",
    ["Started", "Last used", "From", "Browser", "Actions"],
    (c) => get("/v1/sessions", { limit: PAGE, ...q, ...c }),
    (s) =>
      h(
        "tr",
        {},
        h("td", {}, fmtTime(s.created)),
        h("td", {}, fmtTime(s.lastUsed)),
        h("td", {}, s.ip || "—"),
        h("td", {}, s.userAgent || "—"),
        h("td", {}, s.current ? "this session" : actButton("End", async () => {
          await api("DELETE", `/v1/sessions/${encodeURIComponent(s.id)}`);
          await sessions.reload();
        }, { class: "danger", "aria-label": `End the session started ${fmtTime(s.created)} from ${s.ip || "an unknown address"}` })),
      ),
  );
  const out = h("div");
  const mint = actionForm({ id: "token-form" }, field("Token description", { name: "description", type: "text", required: true }), "Create token", async (f) => {
    const t = await post("/v1/tokens", { description: f.elements.description.value, ...(me ? {} : { userId: u.id }) });
    f.reset();
    clear(out, h("p", { class: "notice", role: "status" }, "Token (shown once): ", h("code", {}, t.token)));
    await tokens.reload(true);
  });
  credentialsBox.dataset.user = u.id;
  clear(
    credentialsBox,
    h("h3", { tabindex: "-1", id: "credentials-of" }, `Of ${u.email}`),
    h("h4", {}, "Personal access tokens"),
    tokens,
    out,
    mayActFor(u) ? mint : null,
    h("h4", {}, "Sessions"),
    sessions,
  );
  if (!quiet) document.getElementById("credentials-of").focus();
}

// ---------------------------------------------------------------------------------------------
// Routing: `#/accounts/<id>`; the hash never carries a credential.

let routes = 0; // the latest navigation: a slower answer for an earlier one is dropped

async function route() {
  if (!session.token && !(await refresh())) return loginScreen();
  try {
    if (!session.user) session.user = await post("/user/get", {});
    if (!tree) await loadTree();
  } catch (e) {
    if (!session.token) return loginScreen();
    // A session of an account that requires MFA, for a user without it, may only enrol.
    if (e.status === 403 && /multi-factor/i.test(e.message)) return enrolScreen();
    return stuckScreen("Cannot load the console", e);
  }
  const gen = ++routes;
  let id = currentAccountId();
  if (!id) id = tree.byId.has(session.user.accountId) ? session.user.accountId : tree.roots[0] || session.user.accountId;
  const { side, main } = shell();
  renderSide(side, id);
  performance.mark("accountd-tree");
  await accountPage(main, id, gen);
  const title = document.getElementById("page-title");
  if (title && document.activeElement === document.body) title.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => {
  // `#main` is the skip link's target, not a page.
  if (location.hash === "#main") return;
  route().then(() => document.getElementById("page-title")?.focus());
});
document.getElementById("skip").addEventListener("click", (ev) => {
  ev.preventDefault();
  document.getElementById("main")?.focus();
});
route();
