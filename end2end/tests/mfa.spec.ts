import { test, expect } from '@playwright/test';
import { SECRET_PATH, createUser, dbRun, login, screenshot, totpCode } from './helpers';

test('enrol an authenticator on /account, then log in with the password and a code', async ({ page }, testInfo) => {
  const { username, password } = createUser('totp');
  await login(page, username, password);
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(page.locator('#totp-status')).toContainText('Off');

  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(page.locator('.qr svg')).toBeVisible();
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await screenshot(page, 'totp-setup', (name) => testInfo.outputPath(name));
  await page.getByLabel('Code from the app').fill(totpCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();

  await expect(page.locator('#recovery-codes li')).toHaveCount(10);
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await expect(page.locator('#totp-status')).toContainText('On');
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page).toHaveURL('/login');

  // The password step, then the code step on the same page.
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  const codeField = page.getByLabel('Authentication code');
  await expect(codeField).toBeFocused();
  await expect(codeField).toHaveAttribute('autocomplete', 'one-time-code');
  await expect(codeField).toHaveAttribute('inputmode', 'numeric');
  await codeField.fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#login-error')).toContainText('not valid');
  await expect(page).toHaveURL('/login');
  // This step's code was spent turning the factor on, and only the current and previous steps
  // are accepted: move the spent step back one, as if the enrolment had been 30 s ago.
  dbRun('UPDATE totp_factors SET last_step = last_step - 1 WHERE user_id = (SELECT id FROM users WHERE username = ?)', username);
  await codeField.fill(totpCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();

  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
});

test('the second step offers a recovery code instead', async ({ page }) => {
  const { username, password } = createUser('recovery');
  await login(page, username, password);
  await page.goto('/account');
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  await page.getByLabel('Code from the app').fill(totpCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const recovery = (await page.locator('#recovery-codes li').first().textContent())!.trim();
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();

  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Use a recovery code' }).click();
  await page.getByLabel('Recovery code').fill(recovery);
  await page.getByRole('button', { name: 'Verify' }).click();

  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
});
