// Alerting: an editor configures warning and critical thresholds in the rule form, watches the
// preview chart follow them, saves, and the alert fires from the demo workload and shows up on
// an Alerts page that is already open — without reloading it.
import { expect, test } from '@playwright/test';
import { logIn } from './helpers';

test('an editor sets thresholds with a live preview, saves, and the alert appears live', async ({ page, context }) => {
  await logIn(page, 'editor@vigil.local');

  // A second tab watching the Alerts page before the rule exists.
  const watcher = await context.newPage();
  await watcher.goto('/alerts');
  await expect(watcher.getByText('Live: updates as alerts change.')).toBeVisible();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Rules' }).click();
  await page.getByRole('link', { name: 'New rule' }).click();
  await expect(page).toHaveURL(/\/alerts\/rules\/new$/);

  const form = page.getByRole('form', { name: 'Alert rule' });
  const chart = page.getByTestId('chart');
  const traces = chart.locator('.scatterlayer .trace');
  const spans = chart.locator('.shapelayer path');

  await form.getByLabel('Name', { exact: true }).fill('Checkout traffic');
  await form.getByRole('combobox', { name: 'Query', exact: true }).fill('sum by (job) (rate(http_requests_total{job="checkout"}[5m]))');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(traces).toHaveCount(1);

  // A warning threshold no traffic reaches: its line, and nowhere the rule would fire.
  await form.getByLabel('Warning threshold').fill('1000000');
  await expect(traces).toHaveCount(2);
  await expect(chart.locator('.legend')).toContainText('warning > 1000000');
  await expect(spans).toHaveCount(0);
  await expect(page.getByText('Would not have fired in this window.')).toBeVisible();

  // Lower it: the chart shades where the rule would have fired, without re-running anything.
  await form.getByLabel('Warning threshold').fill('0.001');
  await expect(spans.first()).toBeAttached();
  const summary = page.getByRole('status').filter({ hasText: /^Would have been firing warning for [1-9]\d* min, pending for 5 min in this window\.$/ });
  await expect(summary).toBeVisible();

  // A critical threshold under the warning one is refused beside its field; what was typed stays.
  await form.getByLabel('Critical threshold').fill('0.0001');
  await expect(traces).toHaveCount(3);
  await form.getByLabel('Pending for (for)').fill('0s');
  await form.getByLabel('Evaluate every').fill('5s');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(form.getByText('must be at least the warning threshold')).toBeVisible();
  await expect(form.getByLabel('Critical threshold')).toHaveValue('0.0001');
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue('Checkout traffic');

  // Critical above everything: the preview says the rule would only have warned.
  await form.getByLabel('Critical threshold').fill('1000000');
  await expect(chart.locator('.legend')).toContainText('critical > 1000000');
  // With for = 0s it would have fired at once: no pending stretch any more.
  await expect(page.getByRole('status').filter({ hasText: /^Would have been firing warning for [1-9]\d* min in this window\.$/ })).toBeVisible();
  await expect(page.getByText('Unsaved changes')).toBeVisible();
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(page.getByText('Saved rule Checkout traffic.')).toBeVisible();
  await expect(page).toHaveURL(/\/alerts\/rules\/\d+$/);
  await expect(page.getByText('Unsaved changes')).toHaveCount(0);

  // The evaluator fires it from the demo workload; the open Alerts page shows it by itself.
  const row = watcher.getByRole('table', { name: 'Alerts' }).getByRole('row').filter({ hasText: 'Checkout traffic' });
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row).toContainText('warning');
  await expect(row).toContainText('job=checkout');

  // The rule is listed with its thresholds, and the row links back to it.
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Rules' }).click();
  await expect(page.getByRole('table', { name: 'Alert rules' })).toContainText('warning > 0.001 · critical > 1000000');
  await row.getByRole('link', { name: 'Checkout traffic' }).click();
  await expect(watcher.getByLabel('Warning threshold')).toHaveValue('0.001');
});

test('a viewer reads alerts and rules but is offered no editing', async ({ page }) => {
  await logIn(page, 'viewer@vigil.local');
  await page.goto('/alerts/rules');
  await expect(page.getByRole('heading', { name: 'Alert rules' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New rule' })).toHaveCount(0);
  await page.goto('/alerts/rules/new');
  await expect(page.getByText('changing it needs the editor role')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save rule' })).toHaveCount(0);
  const refused = await page.request.post('/api/v1/alert-rules', {
    data: { name: 'x', query: 'up', comparison: '>', warning_threshold: 1 },
  });
  expect(refused.status()).toBe(403);
});
