import { expect, type Page, type Request } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SECRET_PATH = '/secret-random-number';
export const STORAGE_KEY = 'jwt-auth.session';
export const REFRESH_COOKIE = '__Host-jwt_auth_refresh';
export const EXPIRED_NOTICE = 'Your session has expired. Please log in again.';

/** Logs in through the form and waits for the first secret number. */
export async function login(page: Page, username = 'user', password = 'user-secret-42') {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
}

/** The access token the page keeps (mirrored in localStorage). */
export async function storedToken(page: Page): Promise<string> {
  const raw = await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY);
  expect(raw, 'a stored session').not.toBeNull();
  return JSON.parse(raw as string).jwt as string;
}

/**
 * Waits until the server refuses the page's current access token as expired, by asking the
 * server (outside the page, so the app's wrapper is not involved) until it says so.
 */
export async function waitForAccessTokenExpiry(page: Page) {
  const token = await storedToken(page);
  await expect
    .poll(
      async () => {
        const response = await page.request.get('/api/secret-number', {
          headers: { Authorization: `Bearer ${token}` },
        });
        return response.status() === 401 ? (await response.json()).error : 'still valid';
      },
      { timeout: 15_000, intervals: [250] },
    )
    .toBe('token_expired');
}

/** Records the API requests a page makes from now on. */
export function recordApiCalls(page: Page) {
  const requests: Request[] = [];
  const responses: { url: string; status: number }[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/')) requests.push(request);
  });
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/api/')) responses.push({ url: path, status: response.status() });
  });
  return {
    count: (path: string) => requests.filter((r) => new URL(r.url()).pathname === path).length,
    statuses: (path: string) => responses.filter((r) => r.url === path).map((r) => r.status),
    requests,
  };
}

/** Navigates inside the app the way a link click does (the router intercepts it; no reload). */
export async function clientNavigate(page: Page, path: string) {
  await page.evaluate((href) => {
    const link = document.createElement('a');
    link.href = href;
    link.textContent = 'test link';
    document.body.appendChild(link);
    link.click();
    link.remove();
  }, path);
}

/** Counts full document loads of a page from now on (a client-side navigation makes none). */
export function recordDocumentLoads(page: Page) {
  let loads = 0;
  page.on('request', (request) => {
    if (request.resourceType() === 'document') loads += 1;
  });
  return () => loads;
}

/**
 * Saves a screenshot of what the user sees into the test's output folder; with
 * `UPDATE_SCREENSHOTS=1` also into docs/screenshots/ (the pictures in the README).
 */
export async function screenshot(page: Page, name: string, outputPath: (name: string) => string) {
  const paths = [outputPath(`${name}.png`)];
  if (process.env.UPDATE_SCREENSHOTS === '1') paths.push(`../docs/screenshots/${name}.png`);
  for (const path of paths) await page.screenshot({ path, fullPage: true });
}

/** The claims of an access token (its payload, decoded without verification). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

/**
 * The first column of the first row of `sql` (with `?` bound to `params`), read from the test
 * server's SQLite database with Python's sqlite3 (Node 20 has no SQLite of its own).
 */
export function dbValue(sql: string, ...params: string[]): string {
  const script =
    'import sqlite3, sys, json; c = sqlite3.connect(sys.argv[1]); ' +
    'print(c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchone()[0])';
  return execFileSync('python3', ['-c', script, process.env.E2E_DB!, sql, JSON.stringify(params)])
    .toString()
    .trim();
}

/** Runs a statement (with `?` bound to `params`) on the test server's SQLite database. */
export function dbRun(sql: string, ...params: string[]) {
  const script =
    'import sqlite3, sys, json; c = sqlite3.connect(sys.argv[1]); ' +
    'c.execute(sys.argv[2], json.loads(sys.argv[3])); c.commit()';
  execFileSync('python3', ['-c', script, process.env.E2E_DB!, sql, JSON.stringify(params)]);
}

/**
 * Creates an account with the real command line (`jwt-auth user add`) in the test server's
 * database, so a test can change it without touching the demo accounts other tests use.
 */
export function createUser(prefix: string, role: 'user' | 'admin' = 'user', email?: string) {
  const username = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
  // Random enough for the strength rules (zxcvbn), whatever the username.
  const password = `${randomBytes(6).toString('hex')} lantern meadow`;
  const args = ['user', 'add', username, '--role', role, ...(email ? ['--email', email] : [])];
  execFileSync('../target/debug/jwt-auth', args, {
    input: `${password}\n`,
    env: { ...process.env, DATABASE_URL: `sqlite://${process.env.E2E_DB}?mode=rwc`, RUST_LOG: 'off' },
  });
  return { username, password };
}

/** Decodes RFC 4648 base32 (no padding), as authenticator apps read a typed-in key. */
function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code (RFC 6238: HMAC-SHA1, 6 digits, 30 s) for a base32 key, `offset` steps from now. */
export function totpCode(secret: string, offset = 0): string {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const at = digest[digest.length - 1] & 0x0f;
  const binary =
    ((digest[at] & 0x7f) << 24) | (digest[at + 1] << 16) | (digest[at + 2] << 8) | digest[at + 3];
  return String(binary % 1_000_000).padStart(6, '0');
}

/** One mail the test SMTP server received, decoded. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Decodes a MIME part's body by its Content-Transfer-Encoding. */
function decodePart(headers: string, body: string): string {
  const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Reads a message file: its To, Subject and plain-text part. */
function parseMail(raw: string): Mail {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const header = (name: string) =>
    new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(unfolded)?.[1]?.trim() ?? '';
  const body = rest.join('\n\n');
  const boundary = /boundary="?([^";]+)"?/i.exec(unfolded)?.[1];
  let text = decodePart(unfolded, body);
  if (boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const [partHead, ...partBody] = part.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
      if (/content-type:\s*text\/plain/i.test(partHead)) {
        text = decodePart(partHead, partBody.join('\n\n'));
      }
    }
  }
  return { to: header('To'), subject: header('Subject'), text };
}

/** Every mail received so far. */
export function mails(): Mail[] {
  const dir = path.join(process.env.E2E_MAILDIR!, 'new');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((name) => parseMail(readFileSync(path.join(dir, name), 'utf8')));
}

/** Waits (polling the maildir) for a mail to `to` whose subject contains `subject`. */
export async function waitForMail(to: string, subject: string, timeout = 15_000): Promise<Mail> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = mails().find((m) => m.to.includes(to) && m.subject.includes(subject));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} about "${subject}"`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The first link in a mail's text that starts with `prefix`. */
export function linkIn(mail: Mail, prefix: string): string {
  const start = mail.text.indexOf(prefix);
  if (start < 0) throw new Error(`no link to ${prefix} in: ${mail.text}`);
  return mail.text.slice(start).split(/\s/)[0];
}
