// Signs in to the web app in Debian's Chromium (headless) with playwright-core, the way an
// agent would. Run by crates/needle/tests/it/auth.rs:
//   node signin.mjs NEEDLE_URL EMAIL PASSWORD SCREENSHOT_DIR PLAYWRIGHT_CORE
// Exits non-zero with a reason when anything is not as the agent should see it.
const [needle, email, password, shots, playwrightCore] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);

function fail(why) {
  console.error("sign-in browser test: " + why);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("dialog", () => fail("a dialog opened: markup from a message ran"));
  const scripts = [];
  page.on("console", (m) => scripts.push(m.text()));

  // Anonymous: the app sends the browser to sign in.
  await page.goto(needle + "/");
  if (!page.url().endsWith("/signin")) fail("not sent to sign in: " + page.url());
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", "not the password");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Wrong email or password.");
  await page.screenshot({ path: shots + "/signin-refused.png" });

  // The right password (typed with the keyboard, submitted with Enter).
  await page.fill("input[name=email]", email);
  await page.focus("input[name=password]");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForSelector("text=Sign out");
  if (!page.url().startsWith(needle + "/")) fail("not home after sign-in: " + page.url());

  // The hostile message is on the page as text; nothing from it became an element.
  const shown = await page.locator("ol.messages").innerText();
  if (!shown.includes("<script>alert('x')</script>") || !shown.includes("<img src=x onerror=alert(1)>")) {
    fail("the hostile text is not shown as text: " + shown);
  }
  if ((await page.locator("ol.messages img, ol.messages script, ol.messages style").count()) !== 0) {
    fail("markup from a message became elements");
  }
  if ((await page.locator("a[href^='javascript:']").count()) !== 0) fail("a javascript: link");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "needle_session");
  if (!session || !session.httpOnly || session.sameSite !== "Lax") {
    fail("the session cookie is not HttpOnly and SameSite=Lax: " + JSON.stringify(session));
  }
  if (await page.evaluate(() => document.cookie.includes("needle_session"))) {
    fail("scripts can read the session cookie");
  }
  await page.screenshot({ path: shots + "/inbox-signed-in.png", fullPage: true });

  // An agent is refused the people page.
  const people = await page.goto(needle + "/admin/people");
  if (people.status() !== 403) fail("an agent got the people page: " + people.status());
  await page.waitForSelector("text=Only admins manage people");
  await page.screenshot({ path: shots + "/people-refused.png" });

  // Signing out ends the session: home sends to sign-in again.
  await page.goto(needle + "/");
  await page.click("text=Sign out");
  await page.waitForURL(needle + "/signin");
  await page.goto(needle + "/");
  if (!page.url().endsWith("/signin")) fail("still signed in after signing out");
  console.log("sign-in browser test: ok");
} finally {
  await browser.close();
}
