import { test, expect } from '@playwright/test';
import { SECRET_PATH, login } from './helpers';

// Runs only against the build without --split (E2E_BUILD=nosplit, see scripts/test): what plain
// `cargo leptos watch` serves. Such a build once shipped an import of
// `__wasm_split_placeholder__` that no browser can resolve, so the page never hydrated.
test('a build without --split hydrates, logs in and shows the lazy secret page', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  const splitRequests: string[] = [];
  page.on('request', (r) => {
    if (/__wasm_split|\/split_/.test(new URL(r.url()).pathname)) splitRequests.push(r.url());
  });

  await login(page);

  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.locator('#username')).toHaveText('user');
  expect(splitRequests, 'a non-split build has no chunks to load').toEqual([]);
  expect(errors).toEqual([]);
});
