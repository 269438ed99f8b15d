// Drives the chat widget in Debian's Chromium (headless) with playwright-core, the way a
// visitor and an agent would. Run by crates/needle/tests/it/chat.rs:
//   node chat.mjs PAGE_URL NEEDLE_URL SIGNATURE_FOR_kim-42 SCREENSHOT_DIR PLAYWRIGHT_CORE
// Exits non-zero with a reason when anything is not as a visitor should see it.
const [pageUrl, needle, signature, shots, playwrightCore] = process.argv.slice(2);
const { chromium } = await import(playwrightCore);

// The agent's side calls the API with the test server's token (NEEDLE_TOKEN).
const auth = { authorization: "Bearer " + process.env.NEEDLE_TOKEN };

function fail(why) {
  console.error("chat browser test: " + why);
  process.exit(1);
}

async function chatMessages() {
  const r = await fetch(needle + "/api/v1/messages?channel=chat&limit=100", { headers: auth });
  return (await r.json()).messages;
}

async function until(what, check, ms = 15000) {
  const started = Date.now();
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() - started > ms) fail("waited " + ms + " ms for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("dialog", () => fail("a dialog opened: markup from a message ran"));
  await page.goto(pageUrl);
  await page.click("#needle-chat-bubble");
  await page.fill("#needle-chat-input", "Hello, has my order shipped?");
  await page.press("#needle-chat-input", "Enter");
  await page.waitForSelector(".needle-chat-msg.inbound.sent", { timeout: 15000 });

  // The agent answers through the API; the answer appears in the bubble by itself.
  const asked = await until("the question in Needle", async () =>
    (await chatMessages()).find((m) => m.text === "Hello, has my order shipped?"));
  const reply = await fetch(
    needle + "/api/v1/messages/chat/" + encodeURIComponent(asked.id) + "/replies",
    { method: "POST", headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ text: "Yes! It left our warehouse today." }) });
  if (reply.status !== 202) fail("the reply was not queued: " + reply.status);
  await page.waitForSelector("text=Yes! It left our warehouse today.", { timeout: 15000 });
  await page.screenshot({ path: shots + "/chat-answered.png" });

  // Hostile text is shown as text.
  await page.fill("#needle-chat-input", '<img src=x onerror="alert(1)">Is this <b>real</b>?<script>alert(2)</script>');
  await page.press("#needle-chat-input", "Enter");
  await page.waitForSelector(".needle-chat-msg.inbound.sent >> nth=1", { timeout: 15000 });
  if ((await page.locator("#needle-chat-log img, #needle-chat-log script").count()) !== 0) {
    fail("markup from a message became elements");
  }

  // The connection drops; a message written meanwhile is sent once it is back.
  await page.evaluate(() => window.__needleSockets.at(-1).close());
  await page.fill("#needle-chat-input", "Written while the connection was down");
  await page.press("#needle-chat-input", "Enter");
  await page.waitForSelector(".needle-chat-msg.inbound.sent >> nth=2", { timeout: 20000 });

  // A signed-in visitor: the site vouches for its user id.
  await page.evaluate(([s]) => window.NeedleChat.identify("kim-42", s, { email: "kim@example.com" }), [signature]);
  await page.fill("#needle-chat-input", "It is me, Kim");
  await page.press("#needle-chat-input", "Enter");
  await page.waitForSelector(".needle-chat-msg.inbound.sent >> nth=3", { timeout: 15000 });

  // After a reload the conversation is still there.
  await page.reload();
  await page.click("#needle-chat-bubble");
  await page.waitForSelector("text=Yes! It left our warehouse today.", { timeout: 15000 });
  await page.waitForSelector("text=It is me, Kim", { timeout: 15000 });
  await page.screenshot({ path: shots + "/chat-after-reload.png" });
  console.log("chat browser test: ok");
} finally {
  await browser.close();
}
