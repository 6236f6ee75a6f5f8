import { defineConfig, devices } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// One freshly started server per run, on its own port, with a throw-away SQLite database (and
// its generated development secret) in a new temporary folder.
const port = Number(process.env.E2E_PORT ?? 3100);
// Workers load this file again; the environment they inherit keeps them on the same folder.
process.env.E2E_DATA_DIR ??= mkdtempSync(path.join(tmpdir(), 'jwt-auth-e2e-'));
const dataDir = process.env.E2E_DATA_DIR;
// Tests read the server's database through this (see helpers.ts `dbValue`).
process.env.E2E_DB = path.join(dataDir, 'e2e.db');
export const baseURL = `http://127.0.0.1:${port}`;
// A real SMTP server (aiosmtpd) on loopback, writing what it receives into a maildir that the
// mail tests read (helpers.ts `waitForMail`); Playwright starts it and stops it with the app.
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? port + 20);
process.env.E2E_MAILDIR = path.join(dataDir, 'maildir');
const smtpPython = process.env.JWT_AUTH_SMTPD_PYTHON ?? 'python3';

// Debian's Chromium (Playwright's own browser download is not used). As root it needs
// --no-sandbox; the other flags stop it from calling home on a closed network.
const chromiumArgs = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

// scripts/test runs the suite against the split debug build, then (E2E_BUILD=nosplit) only the
// hydration smoke test against a build without --split.
const nosplit = process.env.E2E_BUILD === 'nosplit';

export default defineConfig({
  testDir: './tests',
  testMatch: nosplit ? 'nosplit.spec.ts' : '*.spec.ts',
  testIgnore: nosplit ? [] : ['nosplit.spec.ts'],
  // Tests share one server; run them one at a time so timing-based checks (token expiry) are
  // not starved of CPU on small machines.
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: chromiumArgs,
        },
      },
    },
  ],
  webServer: [
    {
      command: `${smtpPython} -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox ${process.env.E2E_MAILDIR}`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
    command: 'target/debug/jwt-auth',
    cwd: '..',
    url: `${baseURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      DATABASE_URL: `sqlite://${process.env.E2E_DB}?mode=rwc`,
      LEPTOS_ENV: 'DEV',
      LEPTOS_OUTPUT_NAME: 'jwt-auth',
      // scripts/test builds the site into its own folder.
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? 'target/e2e-site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      // Short-lived access tokens so expiry and refresh happen within a test.
      ACCESS_TOKEN_TTL_SECS: '3',
      // Every test logs in from 127.0.0.1; the anti-spraying bucket (30 at once) is not what
      // these tests are about.
      LOGIN_RATE_BURST: '1000',
      // Sign-up is open and mail goes to the test SMTP server.
      SIGNUP_MODE: 'open',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      RUST_LOG: 'warn',
    },
    },
  ],
});
