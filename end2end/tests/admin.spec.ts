import { test, expect } from '@playwright/test';
import { EXPIRED_NOTICE, SECRET_PATH, clientNavigate, createUser, login, recordDocumentLoads, screenshot } from './helpers';

const ADMIN_CHUNK = /\/pkg\/split___admin_route[^/]*\.wasm$/;

test('as a user, /admin answers 403 and its code is never downloaded', async ({ page }) => {
  const adminChunks: string[] = [];
  page.on('request', (r) => {
    if (ADMIN_CHUNK.test(new URL(r.url()).pathname)) adminChunks.push(r.url());
  });
  await login(page);
  await expect(page.getByRole('link', { name: 'Admin' })).toHaveCount(0);

  // First load: the server's answer is a 403 page.
  const raw = await page.request.get('/admin', { headers: { Accept: 'text/html' }, maxRedirects: 0 });
  expect(raw.status()).toBe(403);
  expect(await raw.text()).toContain('You need the admin role');
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'You need the admin role' })).toBeVisible();

  // Client-side navigation shows the same.
  await page.goto(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
  const documentLoads = recordDocumentLoads(page);
  await clientNavigate(page, '/admin');
  await expect(page.getByRole('heading', { name: 'You need the admin role' })).toBeVisible();
  expect(documentLoads()).toBe(0);
  expect(adminChunks).toEqual([]);
});

test('as an admin, locking a user sends their open page to /login', async ({ browser }, testInfo) => {
  const carol = createUser('carol');
  const theirs = await (await browser.newContext()).newPage();
  await login(theirs, carol.username, carol.password);
  await theirs.getByRole('link', { name: 'Account' }).click();
  await expect(theirs.locator('#sessions tbody tr')).toHaveCount(1);
  const admin = await (await browser.newContext()).newPage();
  await login(admin, 'admin', 'admin-secret-42');
  await admin.getByRole('link', { name: 'Admin' }).click();
  const row = admin.locator(`tr[data-user="${carol.username}"]`);
  await expect(row).toContainText('active');
  await expect(admin.locator('#events tbody tr').first()).toBeVisible();
  await screenshot(admin, 'admin', testInfo.outputPath.bind(testInfo));

  await row.getByRole('button', { name: 'Lock' }).click();

  await expect(row).toContainText('locked');
  await expect(theirs).toHaveURL('/login', { timeout: 15_000 });
  await expect(theirs.locator('#login-notice')).toHaveText(EXPIRED_NOTICE);
  // The audit log names the acting admin.
  await admin.getByLabel('Kind').selectOption('account_locked');
  await admin.getByRole('button', { name: 'Show' }).click();
  await expect(admin.locator('#events tbody tr').first()).toContainText(carol.username);
  await expect(admin.locator('#events tbody tr').first()).toContainText('admin');
  // Locked: the right password is refused with a clear message.
  await theirs.getByLabel('Username').fill(carol.username);
  await theirs.getByLabel('Password').fill(carol.password);
  await theirs.getByRole('button', { name: 'Log in' }).click();
  await expect(theirs.locator('#login-error')).toContainText('locked');
});
