// Explore: typing PromQL with autocomplete, seeing the demo workload as a chart and a table.
import { expect, test } from '@playwright/test';
import { logIn, watchConsole } from './helpers';

test('a viewer builds a query with autocomplete on Explore and sees a chart and a table', async ({ page }) => {
  // The browser logs every 4xx answer: the session check before logging in, and the refused query below.
  const problems = watchConsole(page, /status of 40[01]/);

  await logIn(page, 'viewer@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Explore' }).click();
  await expect(page.getByRole('heading', { name: 'Explore' })).toBeVisible();

  const editor = page.getByRole('combobox', { name: 'Query' });
  const suggestions = page.getByRole('listbox', { name: 'Suggestions' });
  await editor.click();

  // Metric names come from the server's series; Enter accepts the highlighted one.
  await editor.pressSequentially('sum by (job) (rate(http_requests_t');
  await expect(suggestions.getByRole('option', { name: /^http_requests_total/ })).toBeVisible();
  await editor.press('Enter');
  await expect(editor).toHaveValue('sum by (job) (rate(http_requests_total');

  // Inside the braces: that metric's label names, then the values of the chosen label.
  await editor.pressSequentially('{');
  await expect(suggestions.getByRole('option', { name: /^route/ })).toBeVisible();
  await editor.pressSequentially('job="pay');
  await expect(suggestions.getByRole('option', { name: /^payments/ })).toBeVisible();
  await editor.press('Tab');
  await expect(editor).toHaveValue('sum by (job) (rate(http_requests_total{job="payments"');

  await editor.pressSequentially('}[5m]))');
  await editor.press('Escape');
  await editor.press('Enter');

  const chart = page.getByTestId('chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart.locator('.scatterlayer .trace')).toHaveCount(1);
  await expect(chart.locator('.legend')).toContainText('{job="payments"}');
  await expect(page.getByRole('status').filter({ hasText: /1 series/ })).toBeVisible();
  // The address keeps the query, so the view can be shared or reloaded.
  await expect(page).toHaveURL(/\/explore\?query=sum/);

  await page.getByRole('tab', { name: 'Table' }).click();
  const table = page.getByRole('table', { name: 'Query result' });
  await expect(table.getByRole('cell', { name: '{job="payments"}' })).toBeVisible();

  // Reloading the shared address runs the same query again.
  await page.reload();
  await expect(editor).toHaveValue('sum by (job) (rate(http_requests_total{job="payments"}[5m]))');
  await expect(page.getByTestId('chart')).toHaveAttribute('data-drawn', 'true');
  await expect(page.getByTestId('chart').locator('.scatterlayer .trace')).toHaveCount(1);

  // A wider range draws all three services' lines.
  await editor.fill('sum by (job) (rate(http_requests_total[5m]))');
  await page.getByLabel('Time range').selectOption('6h');
  await expect(page.getByTestId('chart').locator('.scatterlayer .trace')).toHaveCount(3);
  await expect(page).toHaveURL(/range=6h/);

  // A broken query is explained beside the editor, and what was typed stays.
  await editor.fill('sum(rate(http_requests_total[5m])');
  await editor.press('Enter');
  const error = page.locator('#field-query-error');
  await expect(error).toContainText(/unclosed|expected|unexpected/i);
  await expect(editor).toHaveValue('sum(rate(http_requests_total[5m])');

  expect(problems, 'no script errors or blocked resources in the console').toEqual([]);
});

test('leaving Explore while its query is still answering is quiet, and the next page works', async ({ page }) => {
  const problems = watchConsole(page, /status of 40[01]/);
  await logIn(page, 'viewer@vigil.local');

  // The instant query (the table) answers only once the user has gone elsewhere.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let asked!: () => void;
  const instantAsked = new Promise<void>((resolve) => (asked = resolve));
  await page.route('**/prometheus/api/v1/query?*', async (route) => {
    asked();
    await held;
    await route.continue();
  });
  await page.goto('/explore?query=' + encodeURIComponent('sum(rate(http_requests_total[5m]))'));
  await expect(page.getByTestId('chart')).toHaveAttribute('data-drawn', 'true');
  await instantAsked;

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboards' }).click();
  await expect(page.getByRole('heading', { name: 'Explore' })).toHaveCount(0);
  const answered = page.waitForResponse('**/prometheus/api/v1/query?*');
  release();
  await answered;
  // The late answer lands nowhere, and the app still moves between pages.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Explore' }).click();
  await expect(page.getByRole('heading', { name: 'Explore' })).toBeVisible();
  expect(problems, 'no script errors in the console').toEqual([]);
});

test('an editor adds a scrape target, sees it scraped and up, then pauses it', async ({ page, baseURL }) => {
  await logIn(page, 'editor@vigil.local');
  await page.goto('/explore');
  await page.getByRole('link', { name: 'Scrape targets' }).click();
  const form = page.getByRole('form', { name: 'New scrape target' });
  await form.getByLabel('Job').fill('vigil-again');
  await form.getByLabel('Metrics URL').fill('not a url');
  await form.getByRole('button', { name: 'Add target' }).click();
  await expect(form.getByText('must be an http:// or https:// address')).toBeVisible();
  await expect(form.getByLabel('Job')).toHaveValue('vigil-again');

  // Vigil's own /metrics is a real Prometheus endpoint to scrape.
  await form.getByLabel('Metrics URL').fill(`${baseURL}/metrics`);
  await form.getByLabel('Interval').fill('2s');
  await form.getByLabel('Timeout').fill('1s');
  await form.getByRole('button', { name: 'Add target' }).click();
  await expect(page.getByText(/^Scraping .*\/metrics as job vigil-again\.$/)).toBeVisible();

  const row = page.getByRole('table', { name: 'Scrape targets' }).getByRole('row').filter({ hasText: 'vigil-again' });
  await expect(async () => {
    await page.reload();
    await expect(row.getByText('up', { exact: true })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(row).toContainText(/\d+ ms/);

  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByText(/is paused\.$/)).toBeVisible();
  await expect(row.getByText('paused', { exact: true })).toBeVisible();
});
