// Alerting: an editor configures warning and critical thresholds in the rule form, watches the
// preview chart follow them, saves, and the alert fires from the demo workload and shows up on
// an Alerts page that is already open — without reloading it.
import { expect, test } from '@playwright/test';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoPassword, logIn, sameOrigin } from './helpers';

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
    headers: sameOrigin,
    data: { name: 'x', query: 'up', comparison: '>', warning_threshold: 1 },
  });
  expect(refused.status()).toBe(403);
});

test('a responder silences an alert from its row, and it shows as silenced until the silence is expired', async ({ page, playwright, baseURL }) => {
  // An alert as Prometheus would send it, through the Alertmanager API.
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: sameOrigin });
  const login = await api.post('/api/v1/auth/login', { data: { email: 'editor@vigil.local', password: demoPassword } });
  expect(login.status()).toBe(200);
  const posted = await api.post('/alertmanager/api/v2/alerts', {
    data: [{ labels: { alertname: 'DiskAlmostFull', instance: 'db-1', severity: 'warning' }, annotations: { summary: 'Disk 93% full' } }],
  });
  expect(posted.status()).toBe(200);

  await logIn(page, 'responder@vigil.local');
  await page.goto('/alerts');
  const row = page.getByRole('table', { name: 'Alerts' }).getByRole('row').filter({ hasText: 'DiskAlmostFull' });
  await expect(row).toContainText('Disk 93% full');
  await row.getByRole('link', { name: 'Silence' }).click();

  const form = page.getByRole('form', { name: 'New silence' });
  const matchers = form.getByLabel('Matchers (one per line)');
  await expect(matchers).toHaveValue(/alertname="DiskAlmostFull"/);
  await expect(matchers).toHaveValue(/instance="db-1"/);
  // Without a reason the server refuses, beside the field, and keeps the matchers.
  await form.getByRole('button', { name: 'Create silence' }).click();
  await expect(form.getByText('say why these alerts are silenced')).toBeVisible();
  await expect(matchers).toHaveValue(/instance="db-1"/);
  await form.getByLabel('Comment').fill('Resizing the volume');
  await form.getByRole('button', { name: 'Create silence' }).click();
  await expect(page.getByText(/^Silenced alertname="DiskAlmostFull"/)).toBeVisible();
  const silence = page.getByRole('table', { name: 'Silences' }).getByRole('row').filter({ hasText: 'Resizing the volume' });
  await expect(silence).toContainText('active');
  await expect(silence).toContainText('responder@vigil.local');

  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Alerts' }).click();
  await expect(row.getByText('silenced', { exact: true })).toBeVisible();
  await expect(row.getByRole('link', { name: 'Silence' })).toHaveCount(0);

  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Silences' }).click();
  await silence.getByRole('button', { name: 'Expire' }).click();
  await expect(page.getByText('The silence has ended.')).toBeVisible();
  await expect(silence).toContainText('expired');
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Alerts' }).click();
  await expect(row.getByRole('link', { name: 'Silence' })).toBeVisible();
  await expect(row.getByText('silenced', { exact: true })).toHaveCount(0);
  await api.dispose();
});

test('an editor adds a signed webhook channel and a test notification reaches a real HTTP server', async ({ page }) => {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  await logIn(page, 'editor@vigil.local');
  await page.goto('/alerts');
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Channels' }).click();
  const form = page.getByRole('form', { name: 'Notification channel' });
  await form.getByLabel('Name', { exact: true }).fill('ops webhook');
  await form.getByLabel('Kind').selectOption('webhook');
  // A bad address is named beside its field; what was typed stays.
  await form.getByLabel('URL').fill('ftp://example.com/hook');
  await form.getByRole('button', { name: 'Save channel' }).click();
  await expect(form.getByText('must be an http:// or https:// address')).toBeVisible();
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue('ops webhook');

  await form.getByLabel('URL').fill(`http://127.0.0.1:${port}/hook`);
  await form.getByLabel('Signing secret').fill('s3cret');
  await form.getByRole('button', { name: 'Save channel' }).click();
  await expect(page.getByText('Saved channel ops webhook.')).toBeVisible();
  const row = page.getByRole('table', { name: 'Notification channels' }).getByRole('row').filter({ hasText: 'ops webhook' });
  await expect(row).toContainText('webhook');

  await row.getByRole('button', { name: 'Send test' }).click();
  const log = page.getByRole('table', { name: 'Deliveries of ops webhook' });
  await expect(log.getByRole('row').filter({ hasText: 'test' })).toContainText('sent');
  expect(received).toHaveLength(1);
  const payload = JSON.parse(received[0].body);
  expect(payload.version).toBe('4');
  expect(String(received[0].headers['x-vigil-signature'])).toMatch(/^sha256=[0-9a-f]{64}$/);

  // The secret URL is never sent back: editing leaves it empty and says it is kept.
  await row.getByRole('button', { name: 'Edit' }).click();
  await expect(form.getByLabel('URL')).toHaveValue('');
  await expect(form.getByText('Saved; leave empty to keep the current URL.')).toBeVisible();
  receiver.close();
});

test('an editor imports a Prometheus rule file; good rules land and refused ones are named', async ({ page }) => {
  await logIn(page, 'editor@vigil.local');
  await page.goto('/alerts/rules');
  await page.getByRole('link', { name: 'Import rule file' }).click();
  const yaml = [
    'groups:',
    '  - name: imported',
    '    rules:',
    '      - alert: SearchDown',
    '        expr: up{job="search"} < 1',
    '        for: 1m',
    '        labels: {severity: critical}',
    '      - alert: Broken',
    '        expr: sum(rate(http_requests_total[5m]) > 1',
  ].join('\n');
  await page.getByLabel('Rule file (YAML)').fill(yaml);
  await page.getByRole('button', { name: 'Import rules' }).click();
  const report = page.getByRole('status', { name: 'Import report' });
  await expect(report).toContainText('Imported 1 rules, 1 refused');
  await expect(report.getByRole('link', { name: 'SearchDown' })).toBeVisible();
  await expect(report).toContainText(/Broken \(group imported\): expr/);
  await report.getByRole('link', { name: 'SearchDown' }).click();
  await expect(page.getByLabel('Critical threshold')).toHaveValue('1');
  await expect(page.getByLabel('Condition')).toHaveValue('<');
});

test('an editor routes alerts by label to a webhook with a policy, and an inhibition rule keeps the lesser alert quiet', async ({ page, playwright, baseURL }) => {
  const received: string[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push(body);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: sameOrigin });
  expect((await api.post('/api/v1/auth/login', { data: { email: 'editor@vigil.local', password: demoPassword } })).status()).toBe(200);
  const channel = await api.post('/api/v1/notification-channels', {
    data: { name: 'storage pager', kind: 'webhook', url: `http://127.0.0.1:${port}/hook` },
  });
  expect(channel.status()).toBe(201);
  const me = await (await api.get('/api/v1/auth/me')).json();
  const onCall = await api.post('/api/v1/escalation-policies', {
    data: { name: 'storage on-call', levels: [{ delay_minutes: 0, targets: [{ kind: 'user', id: me.id }] }] },
  });
  expect(onCall.status()).toBe(201);

  await logIn(page, 'editor@vigil.local');
  await page.goto('/alerts');
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Routing' }).click();
  await expect(page).toHaveURL(/\/alerts\/routing$/);
  const policies = page.getByRole('table', { name: 'Notification policies' });
  await expect(policies.getByRole('row').filter({ hasText: 'Default policy' })).toContainText('every other alert');

  const form = page.getByRole('form', { name: 'Notification policy' });
  await form.getByLabel('Name', { exact: true }).fill('storage team');
  await form.getByLabel('Matchers (one per line, all must hold)').fill('team="storage"');
  await form.getByLabel('Group by').fill('alertname, cluster');
  await form.getByLabel('Group wait').fill('soon');
  await form.getByLabel('storage pager (webhook)').check();
  // Incidents of these alerts page the storage on-call, one per cluster.
  await form.getByLabel('Escalation policy').selectOption({ label: 'storage on-call' });
  await form.getByLabel('Incident grouping labels').fill('cluster');
  // The server names the bad duration beside its field; everything typed stays.
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(form.getByText(/is not a duration such as 30s or 5m/)).toBeVisible();
  await expect(form.getByLabel('Matchers (one per line, all must hold)')).toHaveValue('team="storage"');
  await expect(form.getByLabel('storage pager (webhook)')).toBeChecked();
  await expect(form.getByLabel('Escalation policy')).toHaveValue(String((await onCall.json()).id));
  await form.getByLabel('Group wait').fill('1s');
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText('Saved policy storage team.')).toBeVisible();
  const row = policies.getByRole('row').filter({ hasText: 'storage team' });
  await expect(row).toContainText('team="storage"');
  await expect(row).toContainText('storage pager');
  await expect(row).toContainText('1s · 5m · 4h');
  await expect(row).toContainText('pages storage on-call; split by cluster');

  const inhibit = page.getByRole('form', { name: 'Inhibition rule' });
  await inhibit.getByLabel('Name', { exact: true }).fill('cluster down mutes warnings');
  await inhibit.getByLabel('While an alert matching these fires').fill('alertname="StorageClusterDown"');
  await inhibit.getByLabel('Mute alerts matching these').fill('severity="warning"');
  await inhibit.getByLabel('With equal labels').fill('cluster');
  await inhibit.getByRole('button', { name: 'Save inhibition rule' }).click();
  await expect(page.getByText('Saved inhibition rule cluster down mutes warnings.')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Inhibition rules' })).toContainText('alertname="StorageClusterDown"');

  // Alerts as Prometheus sends them: the outage and the disk alert notify, the slow volume in the
  // same cluster is inhibited.
  const posted = await api.post('/alertmanager/api/v2/alerts', {
    data: [
      { labels: { alertname: 'StorageClusterDown', team: 'storage', cluster: 'eu', severity: 'critical' } },
      { labels: { alertname: 'VolumeSlow', team: 'storage', cluster: 'eu', severity: 'warning' } },
      { labels: { alertname: 'DiskFull', team: 'storage', cluster: 'eu', instance: 'db-1', severity: 'critical' } },
      { labels: { alertname: 'DiskFull', team: 'storage', cluster: 'eu', instance: 'db-2', severity: 'critical' } },
    ],
  });
  expect(posted.status()).toBe(200);
  const titles = () => received.map((body) => JSON.parse(body)).map((m) => `${m.groupLabels.alertname}:${m.alerts.length}`).sort();
  await expect.poll(titles, { timeout: 20_000 }).toEqual(['DiskFull:2', 'StorageClusterDown:1']);
  await page.waitForTimeout(2_000);
  expect(titles(), 'the inhibited alert notified nobody').toEqual(['DiskFull:2', 'StorageClusterDown:1']);
  const opened = await (await api.get('/api/v1/incidents?q=DiskFull')).json();
  expect(opened.incidents.map((i: { title: string; escalation_policy: string }) => `${i.title}: ${i.escalation_policy}`))
    .toEqual(['DiskFull (eu): storage on-call']);

  // The channel's delivery log shows what went out.
  await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Channels' }).click();
  const channelRow = page.getByRole('table', { name: 'Notification channels' }).getByRole('row').filter({ hasText: 'storage pager' });
  await channelRow.getByRole('button', { name: 'Delivery log' }).click();
  await expect(page.getByRole('table', { name: 'Deliveries of storage pager' })).toContainText('[FIRING:2] DiskFull (eu)');
  await api.dispose();
  receiver.close();
});

test('leaving a rule form with unsaved changes through an in-app link asks first', async ({ page }) => {
  await logIn(page, 'editor@vigil.local');
  await page.goto('/alerts/rules/new');
  const form = page.getByRole('form', { name: 'Alert rule' });
  await form.getByLabel('Name', { exact: true }).fill('Half-written rule');
  await expect(page.getByText('Unsaved changes')).toBeVisible();
  const silences = page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Silences' });

  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await silences.click();
  expect(asked).toContain('unsaved changes');
  await expect(page).toHaveURL(/\/alerts\/rules\/new$/);
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue('Half-written rule');

  page.once('dialog', (dialog) => void dialog.accept());
  await silences.click();
  await expect(page).toHaveURL(/\/alerts\/silences$/);
});
