/**
 * The support console in Debian's chromium against a running bridge and fake target:
 * a support person finds a deactivated user, sees the target that escalated and its last error,
 * resolves it with a note and downloads a receipt that verifies; an operator approves a held mass
 * deprovision and watches it complete live. Screenshots land in test/console/screenshots/.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { verifyReceipt } from "../../src/evidence/receipt-verify.js";
import { CHROMIUM, contrastProblems, focusRing, launchChromium, resetScreenshots, screenshot, SCREENSHOTS_DIR } from "./support/browser.js";
import { startConsoleWorld, until, type ConsoleWorld } from "./support/console-world.js";

/* The page's globals, for the functions page.evaluate runs there (the project has no DOM lib). */
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const sessionStorage: any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface TaskJson { target: { name: string }; state: string }
interface OperationsJson { operations: { id: string; state: string; status: string; tasks: TaskJson[] }[] }

const HR_PEOPLE = ["hana@hr.example.com", "hugo@hr.example.com", "hilde@hr.example.com", "henri@hr.example.com", "hiro@hr.example.com"];

// skipped, saying why, where there is no browser (apt-get install chromium, or set CHROMIUM_PATH)
const describeWithBrowser = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) process.stderr.write(`console browser tests skipped: no chromium at ${CHROMIUM}\n`);

describeWithBrowser("the support console in a browser", () => {
  let world: ConsoleWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let viewerToken: string;
  let operatorToken: string;
  let aliceOperation: string;

  const signIn = async (token: string) => {
    await page.goto(world.bridge.url + "/");
    await page.getByLabel("Admin token").waitFor();
    // keyboard only: the token field has the focus, Enter submits
    await page.keyboard.type(token);
    await page.keyboard.press("Enter");
    await page.locator("#who").filter({ hasText: "(" }).waitFor();
  };
  const liveIsOn = () => page.locator("#live-status[data-status='live']").waitFor();
  const aliceOps = () => world.admin<OperationsJson>("GET", "/connections/demo/subjects/alice@example.com/operations");

  beforeAll(async () => {
    await resetScreenshots();
    browser = await launchChromium();
    world = await startConsoleWorld();
    const { control } = world;
    await control.seed("acme", { token: "acme-token", users: [{ userName: "alice@example.com" }, { userName: "alina@example.com" }] });
    await control.seed("broken", { token: "broken-token", users: [{ userName: "alice@example.com" }] });
    await control.setMode("broken", { mode: "auth-broken" });
    const target = (connection: string, name: string, tenant: string, token: string) =>
      world.admin("POST", "/targets", { connection, name, kind: "fake-target", config: { baseUrl: control.tenantUrl(tenant), token } });
    await target("demo", "acme-app", "acme", "acme-token");
    await target("demo", "broken-app", "broken", "broken-token");
    viewerToken = await world.adminToken("sam", "viewer");
    operatorToken = await world.adminToken("olga", "operator");

    // a deactivated person, escalated in one target (auth) and verified in the other
    const alice = await world.createUser(world.demoToken, "alice@example.com", { emails: [{ value: "alice@example.com", primary: true }], externalId: "E-1001" });
    await world.createUser(world.demoToken, "alina@example.com");
    await world.deactivate(world.demoToken, alice);
    const settled = await until("alice's deactivation to settle", aliceOps, (r) =>
      r.operations[0]?.tasks.some((t) => t.state === "escalated") === true && r.operations[0].tasks.some((t) => t.state === "verified"));
    aliceOperation = settled.operations[0]!.id;

    // a mass deprovision in connection hr: the guard holds the third deactivation on
    const hr = await world.admin<{ token: string }>("POST", "/connections", { name: "hr" });
    await control.seed("wiki", { token: "wiki-token", users: HR_PEOPLE.map((userName) => ({ userName })) });
    await target("hr", "wiki", "wiki", "wiki-token");
    const ids = [];
    for (const userName of HR_PEOPLE) ids.push(await world.createUser(hr.token, userName));
    for (const id of ids) await world.deactivate(hr.token, id);
    await until("three hr operations held", () => world.admin<{ operations: unknown[] }>("GET", "/operations?status=held&connection=hr"), (r) => r.operations.length === 3);
    // slow the wiki down, so approved work is seen running before it completes
    await control.setMode("wiki", { mode: "honest", latencyMs: 700 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });

  it("lets a viewer find the deactivated person and see the escalated target's last error, with no action offered", async () => {
    await signIn(viewerToken);
    await expect(page.locator("#who").textContent()).resolves.toBe("sam (viewer)");
    // the search box has the focus; typing searches (debounced) through the API
    await page.keyboard.type("ali");
    const results = page.locator("#results table");
    await results.locator("caption").filter({ hasText: "2 people matching “ali”" }).waitFor();
    await expect(results.locator("tbody tr").allTextContents()).resolves.toEqual([
      expect.stringMatching(/^alice@example\.comdemoalice@example\.comdeactivated\s*escalated/),
      expect.stringMatching(/^alina@example\.comdemo—active\s*no operations/),
    ]);
    await screenshot(page, "01-viewer-search");

    // keyboard: Tab past the connection and the button to the first person; a ring shows where
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    const ring = await focusRing(page);
    expect(ring).toEqual(expect.objectContaining({ tag: "a", text: "alice@example.com", outlineStyle: "solid" }));
    expect(ring.outlineWidth).toBeGreaterThanOrEqual(2);
    await page.keyboard.press("Enter");

    await page.locator("h1", { hasText: "alice@example.com" }).waitFor();
    const broken = page.locator("tr[data-target='broken-app']");
    const acme = page.locator("tr[data-target='acme-app']");
    await broken.waitFor();
    await expect(page.locator(".facts").first().innerText()).resolves.toMatch(/Account\s+deactivated in the IdP[\s\S]*externalId\s+E-1001[\s\S]*Overall\s+escalated/);
    await expect(broken.locator("td").nth(0).innerText()).resolves.toBe("escalated");
    await expect(broken.locator("td").nth(2).innerText()).resolves.toMatch(/^auth · .+\nfind-account: GET \/t\/broken\/users answered 401$/);
    await expect(broken.locator("td").nth(3).innerText()).resolves.toMatch(/^in \d+m.*\(re-probe\)$/);
    await expect(acme.locator("td").nth(0).innerText()).resolves.toBe("verified");
    await expect(acme.locator("td").nth(1).innerText()).resolves.toBe("revoke-sessions done observed\nsuspend-user done observed");
    await expect(acme.locator("td").nth(4).innerText()).resolves.toMatch(/^GET \/users\/u-1 → active=false, sessions=0, tokens=0\naccess observed gone · /);
    await page.getByText("An operator can resolve an escalation with a note").waitFor();
    // a viewer is offered no action: no note, no resolve, no retry, no receipt yet
    await expect(page.locator("textarea, button:has-text('Resolve'), button:has-text('Retry'), button:has-text('Download receipt')").count()).resolves.toBe(0);

    await page.getByRole("button", { name: "Timeline of broken-app" }).click();
    const timeline = broken.locator("xpath=following-sibling::tr[1]").locator("ol");
    await timeline.locator("li", { hasText: "error" }).first().waitFor();
    await expect(timeline.innerText()).resolves.toMatch(/queued \(deactivate\)[\s\S]*error auth: find-account: GET \/t\/broken\/users answered 401[\s\S]*escalated/);
    await liveIsOn();
    await screenshot(page, "02-viewer-person-escalated");

    const lowContrast = await contrastProblems(page, "body, .badge, .muted, .help, a, .error-kind, .mark, .button, th, td, #who, #live-status, .top nav a");
    expect(lowContrast).toEqual([]);

    // the held operations are listed for a viewer too, without Approve or Reject
    await page.getByRole("link", { name: "Held" }).click();
    await page.locator("h2", { hasText: "hr: 3 held operations" }).waitFor();
    await expect(page.locator("button:has-text('Approve'), button:has-text('Reject')").count()).resolves.toBe(0);

    // targets with their health: the one refusing its credentials is failing
    await page.getByRole("link", { name: "Targets" }).click();
    // Wait for the targets' own rows: the held page's rows are still there for a moment after the click.
    for (const target of ["acme-app", "wiki", "broken-app"]) await page.locator(`table tbody tr[data-target='${target}']`).waitFor();
    const rows = page.locator("table tbody tr[data-target]");
    const health = await rows.evaluateAll((trs) => trs.map((tr: any) => [tr.dataset.target, tr.dataset.health]));
    expect(health).toEqual(expect.arrayContaining([["acme-app", "healthy"], ["wiki", "healthy"], ["broken-app", "failing"]]));
    await expect(page.locator("tr[data-target='broken-app'] td").nth(4).innerText()).resolves.toBe("1 escalated");
    await expect(page.locator("tr[data-target='broken-app'] td").nth(6).innerText()).resolves.toBe("100%");
    await screenshot(page, "03-viewer-targets");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin token").waitFor();
    await expect(page.evaluate(() => Object.keys(sessionStorage))).resolves.toEqual([]);
  }, 60_000);

  it("lets an operator resolve the escalation with a note and download a receipt that verifies", async () => {
    await signIn(operatorToken);
    await page.getByRole("link", { name: "Escalations" }).click();
    const card = page.locator("li.card[data-target='broken-app']");
    await card.waitFor();
    await expect(page.locator("h1").innerText()).resolves.toBe("Escalations (1 open)");
    await expect(card.innerText()).resolves.toMatch(/alice@example\.com · broken-app[\s\S]*Last error\s+auth · .+ find-account: GET \/t\/broken\/users answered 401/);
    await screenshot(page, "04-operator-escalations");

    await card.getByRole("link", { name: "alice@example.com" }).click();
    const note = page.getByLabel("Resolution note for broken-app");
    await note.waitFor();
    // a note is required
    await page.getByRole("button", { name: "Resolve" }).click();
    await page.getByText("A resolution needs a note saying what was done.").waitFor();
    await note.fill("removed by hand in the vendor console");
    await screenshot(page, "05-operator-resolving");
    await note.press("Enter");

    const broken = page.locator("tr[data-target='broken-app']");
    await broken.locator("td").first().filter({ hasText: "escalated · resolved" }).waitFor();
    await expect(broken.locator("td").first().innerText()).resolves.toBe("escalated · resolved\nresolved by olga: removed by hand in the vendor console");
    await expect(page.locator("h2 .badge").first().innerText()).resolves.toBe("verified");
    await expect(page.locator("#announcer").innerText()).resolves.toMatch(/Resolved broken-app for alice@example\.com|Updated: /);

    const receiptButton = page.getByRole("button", { name: "Download receipt" });
    await receiptButton.waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), receiptButton.click()]);
    expect(download.suggestedFilename()).toBe(`receipt-${aliceOperation}.jws`);
    const saved = join(SCREENSHOTS_DIR, download.suggestedFilename());
    await download.saveAs(saved);
    await screenshot(page, "06-operator-resolved-receipt");

    const jws = (await readFile(saved, "utf8")).trim();
    const jwks = (await (await fetch(`${world.bridge.url}/.well-known/jwks.json`)).json()) as Parameters<typeof verifyReceipt>[1];
    const verified = await verifyReceipt(jws, jwks);
    if (!verified.ok) throw new Error(`the downloaded receipt does not verify: ${verified.part}: ${verified.problem}`);
    expect(verified.payload.operation.id).toBe(aliceOperation);
    expect(verified.payload.subject.userName).toBe("alice@example.com");
    const byName = Object.fromEntries(verified.payload.targets.map((t) => [t.name, t]));
    expect(byName["acme-app"]).toEqual(expect.objectContaining({ state: "verified" }));
    expect(byName["broken-app"]).toEqual(expect.objectContaining({ state: "escalated", resolution: expect.objectContaining({ by: "olga", note: "removed by hand in the vendor console" }) }));

    await page.getByRole("link", { name: "Escalations" }).click();
    await page.getByText("No open escalations.").waitFor();
  }, 60_000);

  it("lets an operator approve a held mass deprovision and watch it complete without reloading", async () => {
    await signIn(operatorToken);
    await page.getByRole("link", { name: "Held" }).click();
    const section = page.locator("section[data-connection='hr']");
    await section.locator("h2", { hasText: "hr: 3 held operations" }).waitFor();
    await expect(section.locator("tbody th").allTextContents()).resolves.toEqual(HR_PEOPLE.slice(2));
    await liveIsOn();
    await page.evaluate(() => { window.notReloaded = true; });
    await screenshot(page, "07-operator-held");

    await section.getByLabel("Note (optional)").fill("planned re-organisation, checked with HR");
    await section.getByRole("button", { name: "Approve 3…" }).click();
    const confirm = section.locator(".confirm");
    await expect(confirm.locator(".confirm-question").innerText()).resolves.toBe(
      "Approve all 3 held operations in connection hr? Their tasks start now and revoke access in every target in scope.");
    // the confirmation has the focus; Escape backs out, nothing is approved
    await page.keyboard.press("Escape");
    await expect(confirm.isHidden()).resolves.toBe(true);
    await section.getByRole("button", { name: "Approve 3…" }).click();
    await screenshot(page, "08-operator-held-confirm");
    await page.keyboard.press("Enter"); // "Yes, approve 3" has the focus

    const progress = page.locator(".decided .progress");
    await progress.waitFor();
    await expect(page.getByText("Nothing is held.").isVisible()).resolves.toBe(true);
    // the wiki answers slowly: the work is first seen running, then finished, by live updates alone
    expect(Number(await progress.getAttribute("data-done"))).toBeLessThan(3);
    await screenshot(page, "09-operator-approved-running");
    await progress.filter({ hasText: "All 3 operations finished." }).waitFor({ timeout: 30_000 });
    await expect(page.locator(".decided tbody tr").evaluateAll((rows) => rows.map((r: any) => [r.querySelector("th")?.textContent, r.dataset.state])))
      .resolves.toEqual(HR_PEOPLE.slice(2).map((p) => [p, "verified"]));
    await expect(page.evaluate(() => window.notReloaded as boolean | undefined)).resolves.toBe(true);
    await screenshot(page, "10-operator-approved-complete");

    const held = await world.admin<{ operations: unknown[] }>("GET", "/operations?status=held&connection=hr");
    expect(held.operations).toEqual([]);
    for (const userName of HR_PEOPLE) expect((await world.control.user("wiki", userName))?.active).toBe(false);
  }, 60_000);

  it("opens the one match on Enter, and offers keyboard users a skip link past the header", async () => {
    await signIn(operatorToken);
    await page.keyboard.type("alina@example.com");
    await page.keyboard.press("Enter");
    await page.locator("h1", { hasText: "alina@example.com" }).waitFor();
    await page.getByText("No operations for alina@example.com in connection demo.").waitFor();
    await expect(page.locator(".facts").innerText()).resolves.toMatch(/Account\s+active in the IdP[\s\S]*Overall\s+no operations/);

    await page.getByRole("link", { name: "Targets" }).click();
    await page.locator("table tbody tr").first().waitFor();
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press("Tab");
    await expect(page.evaluate(() => document.activeElement?.id as string | undefined)).resolves.toBe("skip-link");
    const box = await page.locator("#skip-link").boundingBox();
    expect(box && box.y >= 0).toBe(true);
    await page.keyboard.press("Enter");
    await expect(page.evaluate(() => document.activeElement?.id as string | undefined)).resolves.toBe("main");
    expect(new URL(page.url()).hash).toBe("#/targets");
  }, 30_000);
});
