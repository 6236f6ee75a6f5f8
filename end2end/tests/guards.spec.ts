import { test, expect } from '@playwright/test';
import { SECRET_PATH, clientNavigate, login, recordDocumentLoads } from './helpers';

const SPLIT_CHUNK = /\/pkg\/split_[^/]*\.wasm$/;

test('anonymous first load of the secret page: the server answers 302 to /login', async ({ page }) => {
  // What the server sends first, before any script runs.
  const raw = await page.request.get(SECRET_PATH, { headers: { Accept: 'text/html' }, maxRedirects: 0 });
  expect(raw.status()).toBe(302);
  expect(raw.headers()['location']).toBe('/login');
  expect(await raw.text()).not.toContain('secret number');

  const response = await page.goto(SECRET_PATH);
  expect(response?.request().redirectedFrom()?.url()).toContain(SECRET_PATH);
  await expect(page).toHaveURL('/login');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
});

test('anonymous client-side navigation to the secret page stays on /login without loading its code', async ({ page }) => {
  const chunkRequests: string[] = [];
  page.on('request', (r) => {
    if (SPLIT_CHUNK.test(new URL(r.url()).pathname)) chunkRequests.push(r.url());
  });
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  const documentLoads = recordDocumentLoads(page);

  await clientNavigate(page, SECRET_PATH);

  await expect(page).toHaveURL('/login');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  expect(documentLoads()).toBe(0);
  expect(chunkRequests).toEqual([]);
});

test('the secret page code is a separate chunk that only a logged-in visit downloads', async ({ page }) => {
  const chunkRequests: string[] = [];
  page.on('request', (r) => {
    if (SPLIT_CHUNK.test(new URL(r.url()).pathname)) chunkRequests.push(r.url());
  });

  await page.goto('/');
  await expect(page).toHaveURL('/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
  expect(chunkRequests, 'an anonymous visit fetches no split chunk').toEqual([]);

  await login(page);
  expect(chunkRequests.length, 'the logged-in secret page does fetch it').toBeGreaterThan(0);
});

test('logged in: first loads of /login and / land on the secret page via a server redirect', async ({ page }) => {
  await login(page);

  for (const path of ['/login', '/']) {
    const raw = await page.request.get(path, { headers: { Accept: 'text/html' }, maxRedirects: 0 });
    expect(raw.status(), path).toBe(302);
    expect(raw.headers()['location'], path).toBe(SECRET_PATH);

    await page.goto(path);
    await expect(page).toHaveURL(SECRET_PATH);
    await expect(page.locator('#secret-value')).toHaveText(/^\d+$/);
  }
});

test('logged in: client-side navigation to /login lands back on the secret page', async ({ page }) => {
  await login(page);
  const documentLoads = recordDocumentLoads(page);

  await clientNavigate(page, '/login');

  await expect(page).toHaveURL(SECRET_PATH);
  await expect(page.getByRole('heading', { name: 'Your secret number' })).toBeVisible();
  expect(documentLoads()).toBe(0);
});

test('anonymous: / goes to /login', async ({ page }) => {
  const raw = await page.request.get('/', { headers: { Accept: 'text/html' }, maxRedirects: 0 });
  expect(raw.status()).toBe(302);
  expect(raw.headers()['location']).toBe('/login');
  await page.goto('/');
  await expect(page).toHaveURL('/login');
});
