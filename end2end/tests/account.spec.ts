import { test, expect } from '@playwright/test';
import { EXPIRED_NOTICE, createUser, login, screenshot } from './helpers';

test('two devices: ending the other session on /account sends it to /login', async ({ browser }, testInfo) => {
  const { username, password } = createUser('two-devices');
  const phone = await browser.newContext({
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0',
  });
  const laptop = await browser.newContext();
  const other = await phone.newPage();
  await login(other, username, password);
  await other.getByRole('link', { name: 'Account' }).click();
  await expect(other.locator('#sessions tbody tr')).toHaveCount(1);
  const mine = await laptop.newPage();
  await login(mine, username, password);
  await mine.getByRole('link', { name: 'Account' }).click();

  const rows = mine.locator('#sessions tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'This device' })).toHaveCount(1);
  const otherRow = rows.filter({ hasText: 'Firefox on Windows' });
  await expect(otherRow).toContainText('127.0.0.1');
  await expect(otherRow.locator('td').first()).toHaveAttribute('title', /Firefox\/130/);
  await screenshot(mine, 'account', testInfo.outputPath.bind(testInfo));

  await otherRow.getByRole('button', { name: 'Log out' }).click();

  await expect(rows).toHaveCount(1);
  // The other device notices at its next call (the account page reloads its list every 5 s).
  await expect(other).toHaveURL('/login', { timeout: 15_000 });
  await expect(other.locator('#login-notice')).toHaveText(EXPIRED_NOTICE);
  await expect(mine.getByRole('heading', { name: 'Your account' })).toBeVisible();
});

test('changing the password keeps this device logged in and logs the other one out', async ({ browser }) => {
  const { username, password } = createUser('new-password');
  const other = await (await browser.newContext()).newPage();
  await login(other, username, password);
  await other.goto('/account');
  const mine = await (await browser.newContext()).newPage();
  await login(mine, username, password);
  await mine.goto('/account');
  await expect(mine.locator('#sessions tbody tr')).toHaveCount(2);

  // A typo in the repeat and a wrong current password are reported inline.
  await mine.getByLabel('Current password').fill(password);
  await mine.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
  await mine.getByLabel('New password, again').fill('a brand new passphrase!');
  await mine.getByRole('button', { name: 'Change password' }).click();
  await expect(mine.locator('#password-error')).toHaveText('The new passwords do not match.');
  await mine.getByLabel('Current password').fill('not my password');
  await mine.getByLabel('New password, again').fill('a brand new passphrase');
  await mine.getByRole('button', { name: 'Change password' }).click();
  await expect(mine.locator('#password-error')).toHaveText('The current password is wrong.');

  await mine.getByLabel('Current password').fill(password);
  await mine.getByRole('button', { name: 'Change password' }).click();

  await expect(mine.locator('#password-done')).toBeVisible();
  await expect(other).toHaveURL('/login', { timeout: 15_000 });
  await expect(mine.locator('#sessions tbody tr')).toHaveCount(1);
  await mine.reload();
  await expect(mine.getByRole('heading', { name: 'Your account' })).toBeVisible();
  const fresh = await (await browser.newContext()).newPage();
  await login(fresh, username, 'a brand new passphrase');
});
