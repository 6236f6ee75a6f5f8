import { test, expect } from '@playwright/test';
import { SECRET_PATH, createUser, linkIn, login, screenshot, waitForMail } from './helpers';

const PASSWORD = 'tangerine orbit velvet 93';

test('sign up, follow the mailed link, then log in', async ({ page }, testInfo) => {
  const name = `signup-${Date.now().toString(36)}`;
  const email = `${name}@example.com`;
  await page.goto('/login');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await expect(page).toHaveURL('/signup');
  await expect(page.getByRole('heading', { name: 'Create an account' })).toBeVisible();
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('passwordpassword');
  await page.getByLabel('Password, again').fill('passwordpassword');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.locator('#signup-error')).toContainText('too easy to guess');

  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password, again').fill(PASSWORD);
  await screenshot(page, 'signup', (n) => testInfo.outputPath(n));
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.locator('#signup-done')).toContainText(email);

  const mail = await waitForMail(email, 'Confirm your e-mail address');
  const link = linkIn(mail, `${new URL(page.url()).origin}/verify-email?token=`);
  await page.goto(link);
  await expect(page.locator('#verify-status')).toHaveText('Your e-mail address is verified.');
  await screenshot(page, 'verify-email', (n) => testInfo.outputPath(n));
  await page.getByRole('link', { name: 'Log in' }).click();

  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
});

test('forgot the password: the mailed link sets a new one, then log in with it', async ({ page }, testInfo) => {
  const email = `reset-${Date.now().toString(36)}@example.com`;
  const { username } = createUser('reset', 'user', email);
  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL('/forgot-password');
  await page.getByLabel('E-mail address').fill(email);
  await screenshot(page, 'forgot-password', (n) => testInfo.outputPath(n));
  await page.getByRole('button', { name: 'Send a reset link' }).click();
  await expect(page.locator('#forgot-done')).toContainText(email);

  const mail = await waitForMail(email, 'Reset your password');
  await page.goto(linkIn(mail, `${new URL(page.url()).origin}/reset-password?token=`));
  await page.getByLabel('New password', { exact: true }).fill('quartz meadow lantern 58');
  await page.getByLabel('New password, again').fill('quartz meadow lantern 58');
  await screenshot(page, 'reset-password', (n) => testInfo.outputPath(n));
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page.locator('#reset-done')).toBeVisible();

  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('quartz meadow lantern 58');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(SECRET_PATH);
});

test('the account page shows the profile, downloads the data and deletes the account', async ({ page }) => {
  const email = `delete-${Date.now().toString(36)}@example.com`;
  const { username, password } = createUser('delete', 'user', email);
  await login(page, username, password);
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(page.locator('#profile-email')).toHaveText(`${email} (verified)`);

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download my data' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('jwt-auth-export.json');

  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.getByLabel('Password', { exact: true }).fill('not my password');
  await page.getByRole('button', { name: 'Delete my account for good' }).click();
  await expect(page.locator('#delete-error')).toContainText('wrong');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Delete my account for good' }).click();
  await expect(page).toHaveURL('/login');

  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#login-error')).toContainText('Wrong username or password');
});

test('an admin invites an address; its link opens an account that is logged in at once', async ({ browser }, testInfo) => {
  const admin = await (await browser.newContext()).newPage();
  await login(admin, 'admin', 'admin-secret-42');
  await admin.goto('/admin');
  const email = `invited-${Date.now().toString(36)}@example.com`;
  await admin.getByLabel('E-mail address').fill(email);
  await admin.getByRole('button', { name: 'Send invitation' }).click();
  await expect(admin.locator('#invitations')).toContainText(email);
  await screenshot(admin, 'admin-invitations', (n) => testInfo.outputPath(n));

  const mail = await waitForMail(email, 'You are invited');
  const invited = await (await browser.newContext()).newPage();
  await invited.goto(linkIn(mail, `${new URL(admin.url()).origin}/signup?invite=`));
  await expect(invited.locator('#signup-invited')).toBeVisible();
  await expect(invited.getByLabel('E-mail address')).toHaveCount(0);
  const name = `invited-${Date.now().toString(36)}`;
  await invited.getByLabel('Username').fill(name);
  await invited.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await invited.getByLabel('Password, again').fill(PASSWORD);
  await invited.getByRole('button', { name: 'Sign up' }).click();
  await expect(invited).toHaveURL(SECRET_PATH);
  await expect(invited.locator('#secret-value')).toHaveText(/^\d+$/);

  await admin.reload();
  await expect(admin.locator('#no-invitations')).toBeVisible();
});
