// Takes the README's tour screenshots from `needle serve --demo` (run by hand, not in CI):
//   needle serve --demo --data /tmp/demo --listen 127.0.0.1:18080   # prints one-time passwords
//   node docs/tour/take.mjs http://127.0.0.1:18080 docs/tour PLAYWRIGHT_CORE ANALYST_PASSWORD AGENT_PASSWORD
// PLAYWRIGHT_CORE is ~/.cache/needle-tools/playwright/node_modules/playwright-core/index.mjs
// (scripts/setup.sh fetches it). Each person chooses a password at the first sign-in.
const [needle, shots, playwrightCore, analystPw, agentPw] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const NEW = "a long passphrase for the tour";
async function signIn(email, pw) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  async function submit(password) {
    await page.goto(needle + "/signin");
    await page.fill("input[name=email]", email);
    await page.fill("input[name=password]", password);
    await page.click("button[type=submit]");
    await page.waitForLoadState();
  }
  await submit(pw);
  if (page.url().includes("/signin")) await submit(NEW);
  if (page.url().includes("/account/password")) {
    await page.fill("input[name=current]", pw);
    await page.fill("input[name=new]", NEW);
    await page.fill("input[name=repeat]", NEW);
    await page.click("button:has-text('Save password')");
    await page.waitForLoadState();
    if (page.url().includes("/signin")) await submit(NEW);
  }
  return page;
}
const analyst = await signIn("analyst@needle.example", analystPw);
await analyst.goto(needle + "/listening");
await analyst.screenshot({ path: shots + "/listening.png", fullPage: true });
await analyst.goto(needle + "/listening/acme-products");
await analyst.screenshot({ path: shots + "/topic.png", fullPage: false });
await analyst.goto(needle + "/listening/rivals/edit");
await analyst.screenshot({ path: shots + "/topic-editor.png", fullPage: false });
const agent = await signIn("agent@needle.example", agentPw);
await agent.goto(needle + "/inbox?queue=open");
await agent.screenshot({ path: shots + "/inbox.png", fullPage: false });
const first = agent.locator("table.cases td a[href^='/inbox/']").first();
await first.click();
await agent.waitForLoadState();
await agent.screenshot({ path: shots + "/conversation.png", fullPage: false });
await browser.close();
console.log("ok");
