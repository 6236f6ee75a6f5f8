import { expect, test, type Page } from '@playwright/test';
import { createUser, dbRun, login, waitForAccessTokenExpiry } from './helpers';

/**
 * Logs a new user in on /account, then makes that login an hour old: the next access token
 * (after a refresh) says so. Returns the user's password.
 */
async function accountWithAnOldLogin(page: Page, prefix: string) {
  const { username, password } = createUser(prefix);
  await login(page, username, password);
  await page.goto('/account');
  await expect(page.locator('#totp-status')).toContainText('Off');
  dbRun(
    'UPDATE sessions SET auth_time = auth_time - 3600 WHERE user_id = (SELECT id FROM users WHERE username_key = ?)',
    username.toLowerCase(),
  );
  await waitForAccessTokenExpiry(page);
  return password;
}

test('a sensitive change after an old login asks for the password, then goes through', async ({ page }) => {
  const password = await accountWithAnOldLogin(page, 'reauth');

  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();

  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Password')).toBeFocused();
  await dialog.getByLabel('Password').fill('not my password');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.getByRole('alert')).toContainText('wrong');
  await dialog.getByLabel('Password').fill(password);
  await dialog.getByRole('button', { name: 'Confirm' }).click();

  // The call that asked went on once, with the fresh token: the set-up is showing.
  await expect(dialog).toBeHidden();
  await expect(page.locator('#totp-secret')).toBeVisible();
});

test('cancelling the prompt leaves the change undone and says why', async ({ page }) => {
  await accountWithAnOldLogin(page, 'reauth-cancel');

  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await expect(dialog).toBeHidden();
  await expect(page.locator('#totp-error')).toContainText('password again');
  await expect(page.locator('#totp-secret')).toHaveCount(0);
});
