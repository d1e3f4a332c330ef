// Code splitting: most pages' code is in chunks downloaded the first time one of their pages
// is shown. A page in a chunk works opened by its address and through a link; a chunk that
// fails to download says so and can be tried again; chunks are sent gzipped and cached for good.
import { expect, test, type Page } from '@playwright/test';
import { logIn } from './helpers';

/** Collects the WebAssembly files the page downloads. */
function wasmDownloads(page: Page): string[] {
  const urls: string[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.endsWith('.wasm')) urls.push(response.url());
  });
  return urls;
}

const chunkOf = (area: string) => new RegExp(`/assets/split_${area}-[0-9a-f]+\\.wasm$`);

test('a page in a chunk opens by its address and through a link, its chunk sent gzipped and cached for good', async ({
  page,
  request,
}) => {
  const downloads = wasmDownloads(page);
  await logIn(page, 'editor@vigil.local');
  expect(downloads.some((url) => chunkOf('oncall').test(url))).toBe(false);

  // By its address: the on-call schedules come from the on-call chunk.
  await page.goto('/oncall/schedules');
  await expect(page.getByRole('heading', { name: 'Schedules' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New schedule' })).toBeVisible();
  expect(downloads.some((url) => chunkOf('oncall').test(url))).toBe(true);

  // Through a link, without reloading the app: the alerts come from the alerting chunk.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
  await expect(page.getByRole('search', { name: 'Filter alerts' })).toBeVisible();
  const alertsChunk = downloads.find((url) => chunkOf('alerts').test(url));
  expect(alertsChunk).toBeDefined();

  // Every module, main and chunks, is sent precompressed and may be cached for a year.
  const main = downloads.find((url) => /\/assets\/vigil-web-[0-9a-f]+\.wasm$/.test(url));
  expect(main).toBeDefined();
  for (const url of [main!, alertsChunk!]) {
    const response = await request.get(url, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(response.status()).toBe(200);
    expect(response.headers()['content-encoding']).toBe('gzip');
    expect(response.headers()['content-type']).toBe('application/wasm');
    expect(response.headers()['cache-control']).toContain('max-age=31536000');
    expect(response.headers()['cache-control']).toContain('immutable');
  }
});

test('a chunk that fails to download says so, and trying again loads the page', async ({ page }) => {
  await logIn(page, 'admin@vigil.local');
  await page.route(/\/assets\/split_admin-[0-9a-f]+\.wasm$/, (route) => route.abort('internetdisconnected'));
  await page.goto('/admin/users');
  await expect(page.getByRole('alert')).toHaveText(/This page could not be loaded/);

  await page.unrouteAll();
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('table', { name: 'Users' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});
