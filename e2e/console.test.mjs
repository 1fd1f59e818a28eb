// The web console in a real browser: Debian's headless Chromium driven by
// playwright-core, every page checked with axe-core. The server is a real
// `latchkey serve --dev` (fake GitHub in-process) whose bootstrap admin is
// octocat, so this browser signs in as an admin. `LATCHKEY_URL` names it;
// `cargo test` starts it (crates/latchkey/tests/browser.rs).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.LATCHKEY_URL;
const ARTIFACTS = process.env.LATCHKEY_E2E_ARTIFACTS ?? new URL("artifacts", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

assert.ok(BASE, "set LATCHKEY_URL to a running `latchkey serve --dev`");
mkdirSync(ARTIFACTS, { recursive: true });

let browser;
let page;
/** The third-party application's callback: a real HTTP server on loopback. */
let app;
let REDIRECT;
/** What the scenario hands from one step to the next. */
const run = {};

before(async () => {
  app = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end("<!doctype html><title>The app</title><p>Back at the app.</p>");
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  REDIRECT = `http://127.0.0.1:${app.address().port}/callback`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The machine has no network but loopback; Chromium's own background
    // traffic would only fail and slow it down.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
});

after(async () => {
  await browser?.close();
  app?.close();
});

/** Fails on any axe-core violation that is serious or critical. */
async function accessible(name) {
  // Evaluated through the DevTools protocol: the page's CSP rightly refuses
  // an injected <script>.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `axe-core on ${name}`,
  );
}

async function snapshot(name) {
  await accessible(name);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Security headers every page sends. */
function assertPageHeaders(response) {
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.ok(headers["referrer-policy"], "Referrer-Policy");
  assert.match(headers["content-type"], /^text\/html/);
}

async function api(path, token, init = {}) {
  return fetch(`${BASE}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
  });
}

function base64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

test("sign in with GitHub", async () => {
  const response = await page.goto(`${BASE}/`);
  assertPageHeaders(response);
  await snapshot("signed-out");
  // /login → the fake GitHub (it approves as octocat) → the callback → /.
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(`${BASE}/`);
  await assert.doesNotReject(page.getByRole("heading", { name: "Signed in" }).waitFor());
  assert.match(await page.locator("main").innerText(), /octocat@example\.com/);
  // The bootstrap admin's address: octocat's first login is the admin.
  assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).count(), 1);
  await snapshot("home");
});

test("create a token, read its secret once, use it, delete it", async () => {
  await page.getByRole("link", { name: "Tokens", exact: true }).click();
  await page.waitForURL(`${BASE}/tokens`);
  await snapshot("tokens");

  // Keyboard only: Tab to the name field, type, pick an expiry, submit with Enter.
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.id === "name")) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement?.id), "name", "Tab reaches the name field");
  await page.keyboard.type("browser test");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "expires");
  await page.locator("#expires").selectOption("7d");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Create token");
  await page.keyboard.press("Enter");

  await page.getByRole("heading", { name: "Token created" }).waitFor();
  assert.match(await page.locator("main").innerText(), /It will not be shown again/);
  const secret = await page.getByLabel(/^Token “browser test”/).inputValue();
  assert.match(secret, /^[0-9a-f-]{36}$/);
  // The copy button (the one piece of script) puts the secret on the clipboard.
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await snapshot("token-created");

  const me = await api("/v1/login/token", secret);
  assert.equal(me.status, 200);
  const tokenId = (await me.json()).id;

  // Shown once: the list has the token, never its secret.
  await page.getByRole("link", { name: "Done" }).click();
  await page.waitForURL(`${BASE}/tokens`);
  const row = page.getByRole("row").filter({ hasText: "browser test" });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), new RegExp(tokenId));
  assert.ok(!(await page.content()).includes(secret), "the secret is not shown again");

  await row.getByRole("link", { name: "Delete" }).click();
  await page.getByRole("heading", { name: /Delete “browser test”\?/ }).waitFor();
  await snapshot("token-delete");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.waitForURL(`${BASE}/tokens`);
  assert.equal(await page.getByRole("row").filter({ hasText: "browser test" }).count(), 0);
  assert.equal((await api("/v1/login/token", secret)).status, 401);
});

test("errors are readable pages, not JSON", async () => {
  const response = await page.goto(`${BASE}/tokens/00000000-0000-4000-8000-000000000000/delete`);
  assert.equal(response.status(), 404);
  assertPageHeaders(response);
  const text = await page.locator("main").innerText();
  assert.ok(!text.trim().startsWith("{"), text);
  await snapshot("error");
});

test("an admin sees accounts and registers an OAuth client", async () => {
  await page.goto(`${BASE}/`);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  await page.waitForURL(`${BASE}/admin/accounts`);
  assert.match(await page.locator("main").innerText(), /octocat@example\.com/);
  await snapshot("admin-accounts");

  await page.getByRole("link", { name: "OAuth Clients" }).click();
  await page.waitForURL(`${BASE}/admin/oauth/clients`);
  await page.getByRole("link", { name: "New OAuth Client" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Browser Test App");
  await page.getByLabel(/^Redirect URL/).fill(REDIRECT);
  await page.getByRole("checkbox", { name: /^account:read / }).check();
  await page.getByRole("checkbox", { name: /^profile / }).check();
  await snapshot("admin-client-form");
  await page.getByRole("button", { name: /Create|Register|Save/ }).click();
  await page.getByRole("heading", { name: "Browser Test App" }).waitFor();
  run.clientId = (await page.locator("#client-id").innerText()).trim();
  run.clientSecret = (await page.locator("#client-secret").innerText()).trim();
  assert.ok(run.clientId && run.clientSecret);
  await snapshot("admin-client-created");
});

test("authorization code with PKCE through the consent page", async () => {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash("sha256").update(verifier).digest());
  const state = base64url(randomBytes(12));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: run.clientId,
    redirect_uri: REDIRECT,
    scope: "account:read profile",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const response = await page.goto(`${BASE}/oauth/authorize?${query}`);
  assertPageHeaders(response);
  await page.getByRole("heading", { name: "Authorize Browser Test App" }).waitFor();
  await snapshot("consent");
  await page.getByLabel(/I authorize Browser Test App/).check();
  await page.getByRole("button", { name: "Submit" }).click();
  await page.waitForURL((url) => url.href.startsWith(REDIRECT));
  const returned = new URL(page.url());
  assert.equal(returned.searchParams.get("state"), state);
  const code = returned.searchParams.get("code");
  assert.ok(code, returned.toString());

  const basic = Buffer.from(`${encodeURIComponent(run.clientId)}:${encodeURIComponent(run.clientSecret)}`).toString("base64");
  const exchange = await fetch(`${BASE}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  assert.equal(exchange.status, 200);
  const tokens = await exchange.json();
  assert.equal(tokens.token_type, "Bearer");
  run.accessToken = tokens.access_token;
  run.refreshToken = tokens.refresh_token;
  run.basic = basic;
  const info = await api("/oauth/userinfo", run.accessToken);
  assert.equal(info.status, 200);
});

test("revoking the app under Authorized apps ends its tokens", async () => {
  await page.goto(`${BASE}/apps`);
  const row = page.getByRole("row").filter({ hasText: "Browser Test App" });
  assert.equal(await row.count(), 1);
  await snapshot("apps");
  await row.getByRole("button", { name: "Revoke Browser Test App" }).click();
  await page.waitForURL(`${BASE}/apps`);
  assert.equal(await page.getByRole("row").filter({ hasText: "Browser Test App" }).count(), 0);

  assert.equal((await api("/oauth/userinfo", run.accessToken)).status, 401);
  const refresh = await fetch(`${BASE}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${run.basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: run.refreshToken }),
  });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, "invalid_grant");
});

test("sign out", async () => {
  await page.goto(`${BASE}/`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${BASE}/`);
  await page.getByRole("link", { name: "Sign in with GitHub" }).waitFor();
  // Signed out, the console sends the browser to sign in again (not
  // followed: the fake GitHub would approve at once).
  const tokens = await page.request.get(`${BASE}/tokens`, { maxRedirects: 0 });
  assert.equal(tokens.status(), 303);
  assert.match(tokens.headers()["location"], /^\/login\?next=/);
});
