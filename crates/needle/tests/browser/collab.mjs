// Two agents on one case, in Debian's Chromium (headless) with playwright-core: one starts
// typing a reply and the other sees it live; then a bulk resolve from the queue, whose ticked
// cases survive a live refresh. Run by crates/needle/tests/it/collab.rs:
//   node collab.mjs NEEDLE_URL CASE_ID EMAIL_A EMAIL_B PASSWORD SCREENSHOT_DIR PLAYWRIGHT_CORE
// The API token for posting a customer's message comes in NEEDLE_TOKEN. Exits non-zero with
// a reason when anything is not as the agents should see it.
const [needle, caseId, emailA, emailB, password, shots, playwrightCore] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);
const auth = { authorization: "Bearer " + process.env.NEEDLE_TOKEN };

function fail(why) {
  console.error("collab browser test: " + why);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const violations = [];

// A signed-in page of its own browser context (its own cookies): one agent.
async function agent(email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", () => fail("a dialog opened"));
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(needle + "/signin");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Sign out");
  return page;
}

try {
  const kim = await agent(emailA);
  const lee = await agent(emailB);
  const casePath = needle + "/inbox/" + caseId;

  // Both open the case; each sees the other viewing, without reloading.
  await kim.goto(casePath);
  await kim.waitForSelector("body[data-live-ready=true]", { timeout: 10000 });
  await lee.goto(casePath);
  await lee.waitForSelector("body[data-live-ready=true]", { timeout: 10000 });
  await lee.evaluate(() => { window.__notReloaded = true; });
  await kim.waitForSelector(".presence >> text=(" + emailB + ") is viewing", { timeout: 15000 })
    .catch(() => fail("Kim does not see Lee viewing"));
  await lee.waitForSelector(".presence >> text=(" + emailA + ") is viewing", { timeout: 15000 })
    .catch(() => fail("Lee does not see Kim viewing"));

  // Kim starts a reply: Lee is told, politely, before writing one too.
  await kim.click("form.reply textarea");
  await kim.keyboard.type("Hi, a new screen is on its way");
  await lee.waitForSelector(".presence[aria-live=polite] >> text=(" + emailA + ") is typing a reply", { timeout: 15000 })
    .catch(() => fail("Lee does not see Kim typing"));
  if (!(await lee.evaluate(() => window.__notReloaded === true))) fail("Lee's page reloaded");
  if ((await kim.locator(".presence >> text=(" + emailA + ")").count()) !== 0) fail("Kim sees himself");
  await lee.screenshot({ path: shots + "/presence-typing.png", fullPage: true });

  // Lee goes to the queue and ticks two cases by their labelled checkboxes.
  await lee.goto(needle + "/inbox?queue=open");
  await lee.waitForSelector("body[data-live-ready=true]", { timeout: 10000 });
  await lee.getByLabel("Select Wrong size").check();
  await lee.getByLabel("Select Never arrived").check();

  // A customer writes meanwhile: the list refreshes live, and the ticks stay.
  const refreshed = await lee.evaluate(() => document.body.getAttribute("data-refreshed"));
  const posted = await fetch(needle + "/api/v1/messages", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify([{
      id: "live-1", channel: "email", thread_id: "live-thread", created_at: new Date().toISOString(),
      title: "Broken blender", text: "It broke on day one", author: { email: "rae@example.com", name: "Rae" },
    }]),
  });
  if (posted.status !== 200) fail("the message was not taken: " + posted.status);
  await lee.waitForSelector("text=Broken blender", { timeout: 15000 })
    .catch(() => fail("the new case did not appear live"));
  if ((await lee.evaluate(() => document.body.getAttribute("data-refreshed"))) === refreshed) fail("no live refresh");
  if (!(await lee.getByLabel("Select Wrong size").isChecked())) fail("a live refresh dropped a ticked case");
  if (!(await lee.getByLabel("Select Never arrived").isChecked())) fail("a live refresh dropped a ticked case");
  if (await lee.getByLabel("Select Cracked screen").isChecked()) fail("a case was ticked by itself");

  // Resolve both at once.
  await lee.selectOption("form.bulk select[name=status]", "resolved");
  await lee.click("form.bulk button:has-text('Set status')");
  await lee.waitForSelector("[role=status] >> text=2 changed", { timeout: 10000 })
    .catch(() => fail("the bulk change did not say how it went"));
  if (!lee.url().includes("queue=open")) fail("not back on the same queue: " + lee.url());
  if ((await lee.locator("table.cases >> text=Wrong size").count()) !== 0) fail("a resolved case is still open");
  if ((await lee.locator("table.cases >> text=Cracked screen").count()) !== 1) fail("an unticked case changed");
  await lee.screenshot({ path: shots + "/bulk-resolved.png", fullPage: true });

  if (violations.length) fail("a page broke its Content-Security-Policy: " + violations.join("; "));
  console.log("collab browser test: ok");
} finally {
  await browser.close();
}
