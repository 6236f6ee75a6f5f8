import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import {
  REFRESH_COOKIE,
  SECRET_PATH,
  claimsOf,
  dbValue,
  login,
  recordApiCalls,
  storedToken,
  waitForAccessTokenExpiry,
} from './helpers';

test('logging out in one tab sends the other tab to /login', async ({ context }) => {
  const first = await context.newPage();
  await login(first);
  const second = await context.newPage();
  await second.goto(SECRET_PATH);
  await expect(second.locator('#secret-value')).toHaveText(/^\d+$/);

  await first.getByRole('button', { name: 'Log out' }).click();

  await expect(first).toHaveURL('/login');
  await expect(second).toHaveURL('/login');
  await expect(second.getByRole('status')).toHaveText('You have been logged out.');
});

test('logging in in one tab takes the other tab off the login page', async ({ context }) => {
  const waiting = await context.newPage();
  await waiting.goto('/login');
  await expect(waiting.getByRole('button', { name: 'Log in' })).toBeEnabled();
  const active = await context.newPage();

  await login(active);

  await expect(waiting).toHaveURL(SECRET_PATH);
  await expect(waiting.locator('#secret-value')).toHaveText(/^\d+$/);
});

test('two tabs refreshing at the same moment both stay logged in, with one live token', async ({ context }) => {
  const first = await context.newPage();
  await login(first);
  const second = await context.newPage();
  await second.goto(SECRET_PATH);
  await expect(second.locator('#secret-value')).toHaveText(/^\d+$/);
  await waitForAccessTokenExpiry(first);
  const firstCalls = recordApiCalls(first);
  const secondCalls = recordApiCalls(second);

  await Promise.all([
    first.evaluate(() => document.querySelector<HTMLButtonElement>('#new-number')!.click()),
    second.evaluate(() => document.querySelector<HTMLButtonElement>('#new-number')!.click()),
  ]);

  await expect.poll(() => firstCalls.statuses('/api/secret-number').at(-1)).toBe(200);
  await expect.poll(() => secondCalls.statuses('/api/secret-number').at(-1)).toBe(200);
  // Under the Web Lock one tab refreshes, then the other re-reads localStorage and usually
  // finds the renewed token. Chromium hands localStorage writes to other tabs asynchronously,
  // so it may still see the old one and refresh once itself: never more, and never refused.
  const refreshes = [...firstCalls.statuses('/api/refresh'), ...secondCalls.statuses('/api/refresh')];
  expect(refreshes.length).toBeGreaterThanOrEqual(1);
  expect(firstCalls.count('/api/refresh')).toBeLessThanOrEqual(1);
  expect(secondCalls.count('/api/refresh')).toBeLessThanOrEqual(1);
  expect(refreshes.every((status) => status === 200)).toBe(true);
  await expect(first).toHaveURL(SECRET_PATH);
  await expect(second).toHaveURL(SECRET_PATH);
  // However the refreshes raced, the session was not forked: exactly one token is live.
  const sid = claimsOf(await storedToken(first)).sid as string;
  // A session is one row holding its one live token hash, and the cookie both tabs share is it.
  expect(dbValue('SELECT COUNT(*) FROM sessions WHERE id = ? AND revoked_at IS NULL', sid)).toBe('1');
  const cookie = (await context.cookies()).find((c) => c.name === REFRESH_COOKIE)!;
  const [cookieSid, secret] = cookie.value.split('.');
  expect(cookieSid).toBe(sid);
  const presented = createHash('sha256').update(secret).digest('hex').toUpperCase();
  expect(dbValue('SELECT hex(token_hash) FROM sessions WHERE id = ?', sid)).toBe(presented);
  await first.reload();
  await expect(first.locator('#secret-value')).toHaveText(/^\d+$/);
});
