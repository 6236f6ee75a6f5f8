import { test, expect, type Page } from '@playwright/test';

/** Collects console errors and uncaught exceptions of a page. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

test('the server renders the login form, disabled until the WASM has hydrated it', async ({ request }) => {
  const response = await request.get('/login', { headers: { Accept: 'text/html' } });
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('<form');
  expect(html).toMatch(/<input[^>]*id="username"/);
  expect(html).toMatch(/<input[^>]*id="password"[^>]*type="password"|<input[^>]*type="password"[^>]*id="password"/);
  expect(html).toMatch(/<button[^>]*type="submit"[^>]*disabled/);
});

test('the login page hydrates in Chromium without console errors', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/login');
  // The button is disabled in the server's HTML and only enabled by an effect, which runs only
  // once the WASM has loaded and hydrated the page.
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  await expect(page.getByLabel('Username')).toBeVisible();
  await expect(page.getByLabel('Password')).toBeVisible();
  expect(errors).toEqual([]);
});

test('an unknown path shows the 404 page with HTTP status 404', async ({ page }) => {
  const response = await page.goto('/nope');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
