import { test, expect } from '@playwright/test';
import { REFRESH_COOKIE, login, storedToken } from './helpers';

test('scripts cannot see the refresh cookie, and no cookie carries the access token', async ({ page, context }) => {
  await login(page);

  const visibleToScripts = await page.evaluate(() => document.cookie);
  expect(visibleToScripts).not.toContain(REFRESH_COOKIE);

  const cookies = await context.cookies();
  const refresh = cookies.find((c) => c.name === REFRESH_COOKIE);
  // The __Host- prefix: Secure, Path=/ and no Domain (a host-only cookie), or the browser
  // would not have stored it at all.
  expect(refresh).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  expect(refresh?.domain).toBe('127.0.0.1');
  const jwt = await storedToken(page);
  expect(cookies.some((c) => c.value.includes(jwt) || jwt.includes(c.value))).toBe(false);
});
