/**
 * Headless Chromium for the page tests, driven over the DevTools protocol with Deno's own
 * WebSocket: open a file, wait for its load event, evaluate expressions in it. A machine without
 * Chromium fails the test with a sentence saying so (CI installs it; see .ci/run).
 *
 * @module
 */

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Messages a session may wait through for one answer before it gives up. */
const EVENTS_MAX = 100_000;

/** The flags that keep a headless browser quiet: no network of its own, no profile reuse. */
export function chromiumFlags(userDataDir: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${userDataDir}`,
  ];
}

/** Fails, saying why, when Chromium is not installed. */
export function requireChromium(): void {
  try {
    Deno.statSync(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `Cannot run the browser tests: ${CHROMIUM_PATH} is missing (install Debian's chromium ` +
        `package: apt-get install -y chromium; .ci/run does)`,
    );
  }
}

/** One headless browser with one page, over the DevTools protocol. */
export class Browser {
  readonly #child: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  readonly #stderrDrained: Promise<void>;
  #sessionId = "";
  readonly #waiting = new Map<number, (message: Record<string, unknown>) => void>();
  readonly #eventWaiters: { method: string; resolve: () => void }[] = [];
  #nextId = 1;

  private constructor(
    child: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
    stderrDrained: Promise<void>,
  ) {
    this.#child = child;
    this.#socket = socket;
    this.#profile = profile;
    this.#stderrDrained = stderrDrained;
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data));
  }

  /** Starts Chromium and opens `path` (a local file) in a page, resolving after its load event. */
  static async open(path: string, width = 1400, height = 900): Promise<Browser> {
    requireChromium();
    const profile = await Deno.makeTempDir({ prefix: "dsys-chromium-" });
    const child = new Deno.Command(CHROMIUM_PATH, {
      args: [
        ...chromiumFlags(profile),
        "--remote-debugging-port=0",
        `--window-size=${width},${height}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const { url, drained } = await devToolsUrl(child.stderr);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`Cannot connect to Chromium at ${url}`));
    });
    const page = new Browser(child, socket, profile, drained);
    const { targetId } = await page.#send("Target.createTarget", { url: "about:blank" });
    const attached = await page.#send("Target.attachToTarget", { targetId, flatten: true });
    page.#sessionId = String(attached.sessionId);
    await page.#send("Page.enable", {});
    const loaded = page.#nextEvent("Page.loadEventFired");
    await page.#send("Page.navigate", { url: `file://${path}` });
    await loaded;
    return page;
  }

  /** The value of `expression` evaluated in the page (awaited if it is a promise). */
  async evaluate(expression: string): Promise<unknown> {
    const reply = await this.#send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const result = reply.result as { value?: unknown };
    if (reply.exceptionDetails !== undefined) {
      throw new Error(`The page threw evaluating ${expression}: ${JSON.stringify(reply)}`);
    }
    return result.value;
  }

  /** A PNG of the page as it is drawn now. */
  async screenshot(): Promise<Uint8Array> {
    const reply = await this.#send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(String(reply.data)), (char) => char.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.#socket.onclose = resolve);
    this.#socket.close();
    await closed;
    this.#child.kill("SIGTERM");
    await this.#stderrDrained;
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true });
  }

  #send(
    method: string,
    params: Record<string, unknown>,
    sessionId = this.#sessionId,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const message = sessionId === "" ? { id, method, params } : { id, method, params, sessionId };
    return new Promise((resolve, reject) => {
      if (this.#waiting.size >= EVENTS_MAX) {
        reject(new Error(`Cannot send ${method}: ${EVENTS_MAX} requests are waiting`));
        return;
      }
      this.#waiting.set(id, (reply) => {
        if (reply.error !== undefined) {
          reject(new Error(`Chromium refused ${method}: ${JSON.stringify(reply.error)}`));
        } else resolve(reply.result as Record<string, unknown>);
      });
      this.#socket.send(JSON.stringify(message));
    });
  }

  #nextEvent(method: string): Promise<void> {
    return new Promise((resolve) => this.#eventWaiters.push({ method, resolve }));
  }

  #receive(message: Record<string, unknown>): void {
    if (typeof message.id === "number") {
      const resolve = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      resolve?.(message);
      return;
    }
    const index = this.#eventWaiters.findIndex((waiter) => waiter.method === message.method);
    if (index >= 0) this.#eventWaiters.splice(index, 1)[0].resolve();
  }
}

/**
 * Reads Chromium's standard error until it says where its DevTools endpoint listens; the rest is
 * read and dropped (`drained` settles when Chromium closes it), so the browser never blocks on it.
 */
async function devToolsUrl(
  stderr: ReadableStream<Uint8Array>,
): Promise<{ url: string; drained: Promise<void> }> {
  let text = "";
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  const drain = async () => {
    while (!(await reader.read()).done) continue;
  };
  while (text.length < 1_000_000) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
    if (match !== null) return { url: match[1], drained: drain() };
  }
  throw new Error(`Chromium exited without a DevTools endpoint; it said: ${text.slice(-500)}`);
}
