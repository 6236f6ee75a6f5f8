import { test, expect } from '@playwright/test';
import {
  EXPIRED_NOTICE,
  SECRET_PATH,
  STORAGE_KEY,
  login,
  recordApiCalls,
  storedToken,
  waitForAccessTokenExpiry,
} from './helpers';

test('after the access token expires, the next action succeeds with exactly one refresh', async ({ page }) => {
  await login(page);
  const before = await storedToken(page);
  await waitForAccessTokenExpiry(page);
  const calls = recordApiCalls(page);

  await page.getByRole('button', { name: 'New number' }).click();

  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
  await expect.poll(() => calls.statuses('/api/secret-number')).toEqual([401, 200]);
  expect(calls.count('/api/refresh')).toBe(1);
  expect(calls.statuses('/api/refresh')).toEqual([200]);
  expect(await storedToken(page)).not.toBe(before);
});

test('five calls fired at once after expiry share one refresh and all succeed', async ({ page }) => {
  await login(page);
  await waitForAccessTokenExpiry(page);
  const calls = recordApiCalls(page);

  // Five clicks in one task: all five requests leave before any answer arrives.
  await page.evaluate(() => {
    const button = document.querySelector<HTMLButtonElement>('#new-number')!;
    for (let i = 0; i < 5; i++) button.click();
  });

  await expect.poll(() => calls.statuses('/api/secret-number').filter((s) => s === 200).length).toBe(5);
  expect(calls.count('/api/refresh')).toBe(1);
  expect(calls.statuses('/api/secret-number').filter((s) => s === 401).length).toBe(5);
  expect(calls.count('/api/secret-number')).toBe(10);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
});

test('a tampered stored token is replaced by one refresh', async ({ page }) => {
  await login(page);
  await page.evaluate((key) => {
    const session = JSON.parse(localStorage.getItem(key)!);
    session.jwt = session.jwt.slice(0, -4) + (session.jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    localStorage.setItem(key, JSON.stringify(session));
  }, STORAGE_KEY);
  const calls = recordApiCalls(page);

  await page.reload();

  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
  expect(calls.statuses('/api/secret-number')).toEqual([401, 200]);
  expect(calls.count('/api/refresh')).toBe(1);
});

test('a session revoked on the server ends on the login page with the expiry message', async ({ page, browser, baseURL }) => {
  await login(page);
  // A second browser context holding the same refresh cookie logs the session out.
  const other = await browser.newContext({ baseURL });
  await other.addCookies(await page.context().cookies());
  const logout = await other.request.post('/api/logout', { headers: { 'Content-Type': 'application/json' }, data: '{}' });
  expect(logout.status()).toBe(204);
  await other.close();
  await waitForAccessTokenExpiry(page);
  const calls = recordApiCalls(page);

  const clicked = Date.now();
  await page.getByRole('button', { name: 'New number' }).click();

  await expect(page).toHaveURL('/login', { timeout: 5_000 });
  await expect(page.getByRole('status')).toHaveText(EXPIRED_NOTICE);
  expect(Date.now() - clicked).toBeLessThan(5_000);
  expect(calls.statuses('/api/refresh')).toEqual([401]);
  expect(await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY)).toBeNull();
});

test('a reload keeps you logged in', async ({ page }) => {
  await login(page);

  await page.reload();

  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
  await expect(page.locator('#username')).toHaveText('user');
});
