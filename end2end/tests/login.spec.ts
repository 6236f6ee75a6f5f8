import { test, expect } from '@playwright/test';
import { SECRET_PATH, login, screenshot } from './helpers';

test('a wrong password shows the error inline; the right one shows the number', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 800, height: 560 });
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await page.getByLabel('Username').fill('user');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page.getByRole('alert').filter({ hasText: 'Wrong username or password.' })).toBeVisible();
  await expect(page).toHaveURL('/login');
  await expect(page.getByLabel('Password')).toHaveValue('');
  await screenshot(page, 'login', (name) => testInfo.outputPath(name));

  await page.getByLabel('Password').fill('user-secret-42');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#secret-number')).toHaveText(/^Very secret random number: \d+$/);
  await expect(page.locator('#username')).toHaveText('user');
  await expect(page.locator('#role')).toHaveText('user');
  await screenshot(page, 'secret-number', (name) => testInfo.outputPath(name));
});

test('the button is disabled while a login is in flight', async ({ page }) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/login', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('admin-secret-42');

  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page.getByRole('button', { name: 'Logging in…' })).toBeDisabled();
  release();
  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#role')).toHaveText('admin');
});

test('a throttled login says how many seconds to wait', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  const button = page.getByRole('button', { name: 'Log in' });
  await page.getByLabel('Username').fill('throttled-visitor');
  // The test server allows five failures per username.
  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.getByLabel('Password').fill(`guess-${attempt}`);
    await button.click();
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong username or password.' })).toBeVisible();
    await expect(button).toBeEnabled();
  }
  await page.getByLabel('Password').fill('guess-6');
  await button.click();

  await expect(page.getByRole('alert')).toHaveText(/Too many failed attempts\. Try again in \d+ seconds\./);
});

test('an unreachable server is reported, not silently ignored', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await page.route('**/api/login', (route) => route.abort('connectionrefused'));
  await page.getByLabel('Username').fill('user');
  await page.getByLabel('Password').fill('user-secret-42');

  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page.getByRole('alert')).toHaveText('The server cannot be reached. Check your connection and try again.');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
});

test('the form is labelled and keyboard-operable', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await expect(page.getByLabel('Username')).toHaveAttribute('required', '');
  await expect(page.getByLabel('Password')).toHaveAttribute('required', '');

  await page.getByLabel('Username').focus();
  await page.keyboard.type('user');
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.keyboard.type('user-secret-42');
  await page.keyboard.press('Enter');

  await expect(page).toHaveURL(SECRET_PATH);
  // Focus moves to the new page's heading, not left on a vanished button.
  await expect(page.getByRole('heading', { name: 'Your secret number' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'New number' })).toBeFocused();
});

test('logging in then out returns to the login page', async ({ page }) => {
  await login(page);

  await page.getByRole('button', { name: 'Log out' }).click();

  await expect(page).toHaveURL('/login');
  await expect(page.getByRole('status')).toHaveText('You have been logged out.');
  // The session is gone on the server too: a reload stays logged out.
  await page.reload();
  await expect(page).toHaveURL('/login');
});
