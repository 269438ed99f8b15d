// An analyst writes a listening topic, in Debian's Chromium (headless) with playwright-core.
// Run by crates/needle/tests/it/listening_views.rs:
//   node listening.mjs NEEDLE_URL EMAIL PASSWORD SCREENSHOT_DIR PLAYWRIGHT_CORE
// The workspace already holds messages about blenders (one with hostile markup). Exits
// non-zero with a reason when anything is not as the analyst should see it.
const [needle, email, password, shots, playwrightCore] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);

function fail(why) {
  console.error("listening browser test: " + why);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("dialog", () => fail("a dialog opened: markup from a message ran"));
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });

  await page.goto(needle + "/signin");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Sign out");

  // The editor lints while typing, with no button pressed and no page load.
  await page.goto(needle + "/listening/new");
  await page.waitForSelector("body[data-editor-ready=true]");
  await page.evaluate(() => { window.__notReloaded = true; });
  await page.fill("input[name=id]", "blenders");
  await page.locator("#query").pressSequentially("blender AND", { delay: 20 });
  await page.waitForSelector("#lint-query li.error", { timeout: 10000 })
    .catch(() => fail("a broken query was not flagged while typing"));
  if ((await page.locator("section.preview mark").count()) !== 0) fail("a broken query was tried");

  // Fixing it shows what it matches among recent messages, marked.
  await page.fill("#query", "blender NOT toaster");
  await page.waitForSelector("section.preview mark", { timeout: 10000 })
    .catch(() => fail("the preview did not show matches"));
  const summary = await page.textContent("section.preview p.summary");
  if (!/4 of the newest 5 messages match/.test(summary)) fail("unexpected preview: " + summary);
  if ((await page.locator("#lint-query li.error").count()) !== 0) fail("an old error stayed");
  if ((await page.locator("section.preview img").count()) !== 0) fail("markup from a message became an element");
  if (!(await page.evaluate(() => window.__notReloaded === true))) fail("the editor reloaded");
  await page.screenshot({ path: shots + "/topic-editor.png", fullPage: true });

  // Saving shows the topic: charts with bars, and its stream.
  await page.click("button:has-text('Save topic')");
  await page.waitForURL(/\/listening\/blenders/);
  // History is found in the background; the page says so until it is done.
  for (let i = 0; i < 40 && (await page.locator("ol.messages mark").count()) === 0; i++) {
    await page.waitForTimeout(250);
    await page.reload();
  }
  const bars = await page.locator("svg.chart rect").count();
  if (bars < 2) fail("the volume chart has " + bars + " bars");
  await page.waitForSelector("ol.messages mark");
  await page.screenshot({ path: shots + "/topic.png", fullPage: true });

  await page.goto(needle + "/listening");
  await page.waitForSelector("svg.spark rect");
  await page.screenshot({ path: shots + "/listening.png", fullPage: true });
  if (violations.length) fail("a page broke its Content-Security-Policy: " + violations.join("; "));
  console.log("listening browser test: ok");
} finally {
  await browser.close();
}
