// An agent's morning in the inbox, in Debian's Chromium (headless) with playwright-core.
// Run by crates/needle/tests/it/cases.rs:
//   node inbox.mjs NEEDLE_URL EMAIL PASSWORD SCREENSHOT_DIR PLAYWRIGHT_CORE
// The API token for posting the customer's message comes in NEEDLE_TOKEN. Exits non-zero
// with a reason when anything is not as the agent should see it.
const [needle, email, password, shots, playwrightCore] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);
const auth = { authorization: "Bearer " + process.env.NEEDLE_TOKEN };

function fail(why) {
  console.error("inbox browser test: " + why);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("dialog", () => fail("a dialog opened: markup from a message ran"));
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });

  await page.goto(needle + "/signin");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Sign out");

  // The open queue, live: a customer writes, and the case appears without a reload.
  await page.goto(needle + "/inbox?queue=open");
  await page.waitForSelector("body[data-live-ready=true]", { timeout: 10000 });
  await page.evaluate(() => { window.__notReloaded = true; });
  const posted = await fetch(needle + "/api/v1/messages", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify([{
      id: "live-1", channel: "email", thread_id: "live-thread", created_at: new Date().toISOString(),
      title: "Broken blender", text: "It broke on day one &lt;img src=x onerror=alert(1)&gt; please help",
      author: { email: "rae@example.com", name: "Rae" },
    }]),
  });
  if (posted.status !== 200) fail("the message was not taken: " + posted.status);
  await page.waitForSelector("text=Broken blender", { timeout: 15000 })
    .catch(() => fail("the new case did not appear live"));
  if (!(await page.evaluate(() => window.__notReloaded === true))) fail("the page reloaded");
  await page.screenshot({ path: shots + "/inbox-live.png", fullPage: true });

  // The conversation, by keyboard: j picks the case, Enter opens it, a assigns me, n starts a
  // note, e resolves.
  await page.keyboard.press("j");
  await page.keyboard.press("Enter");
  await page.waitForSelector("text=It broke on day one");
  if ((await page.locator("ol.messages img").count()) !== 0) fail("markup from a message became an element");
  await page.keyboard.press("a");
  await page.waitForSelector("text=assigned to " + email);
  await page.keyboard.press("n");
  await page.keyboard.type("@ann can you check the stock?");
  await page.click("button:has-text('Add note')");
  await page.waitForSelector("text=@ann can you check the stock?");
  await page.keyboard.press("e");
  await page.waitForSelector("text=Status open → resolved");
  await page.screenshot({ path: shots + "/conversation.png", fullPage: true });

  // The resolved queue holds it now.
  await page.goto(needle + "/inbox?queue=resolved");
  await page.waitForSelector("text=Broken blender");
  if (violations.length) fail("the page broke its Content-Security-Policy: " + violations.join("; "));
  console.log("inbox browser test: ok");
} finally {
  await browser.close();
}
