// Incidents: an alert fires, its incident appears live on a responder's open Incidents page,
// nobody acknowledges it so its escalation policy pages level 2 by itself, then the responder
// acknowledges, escalates and resolves it with the keyboard — every step in the timeline, and
// the times to acknowledge and to resolve counted. A viewer sees the same pages without the
// controls.
import { expect, test, type APIRequestContext } from '@playwright/test';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoPassword, logIn, sameOrigin } from './helpers';

async function apiAs(playwright: { request: { newContext: (o: object) => Promise<APIRequestContext> } }, baseURL: string | undefined, email: string) {
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: sameOrigin });
  const login = await api.post('/api/v1/auth/login', { data: { email, password: demoPassword } });
  expect(login.status()).toBe(200);
  return { api, user: await login.json() };
}

test('an incident opens live, escalates to level 2 unacknowledged, and a responder acknowledges, escalates and resolves it', async ({ page, playwright, baseURL }) => {
  test.setTimeout(240_000);
  const { api: editor, user: editorUser } = await apiAs(playwright, baseURL, 'editor@vigil.local');
  const { api: responderApi, user: responder } = await apiAs(playwright, baseURL, 'responder@vigil.local');
  await responderApi.dispose();

  // Level 1 pages the responder at once, level 2 the editor a minute later, level 3 the
  // responder again — unless somebody acknowledges.
  const policy = await editor.post('/api/v1/escalation-policies', {
    data: {
      name: 'E2E paging',
      levels: [
        { delay_minutes: 0, targets: [{ kind: 'user', id: responder.id }] },
        { delay_minutes: 1, targets: [{ kind: 'user', id: editorUser.id }] },
        { delay_minutes: 30, targets: [{ kind: 'user', id: responder.id }] },
      ],
    },
  });
  expect(policy.status()).toBe(201);
  const policyId = (await policy.json()).id;

  await logIn(page, 'responder@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Incidents' }).click();
  await expect(page.getByText('Live: updates as incidents change.')).toBeVisible();
  await expect(page.getByRole('link', { name: /Payments are failing/ })).toHaveCount(0);

  // A rule that fires at once on demo data, with the policy.
  const rule = await editor.post('/api/v1/alert-rules', {
    data: {
      name: 'Payments are failing',
      query: 'vector(1)',
      comparison: '>',
      critical_threshold: 0,
      for: '0s',
      interval: '5s',
      labels: { service: 'payments' },
      escalation_policy_id: policyId,
    },
  });
  expect(rule.status()).toBe(201);
  const ruleId = (await rule.json()).id;

  // It appears without reloading the page, counted as triggered.
  const row = page.getByRole('row').filter({ hasText: 'Payments are failing' });
  await expect(row).toBeVisible({ timeout: 45_000 });
  await expect(row).toContainText('triggered');
  await expect(page.getByRole('button', { name: /^Triggered [1-9]/ })).toBeVisible();
  await row.getByRole('link', { name: /Payments are failing/ }).click();

  const timeline = page.getByRole('list', { name: 'Timeline' });
  await expect(timeline).toContainText('Level 1 notified: responder@vigil.local');
  // The page reached the responder in the app: the bell counts it, opening it marks it read.
  const bell = page.getByRole('button', { name: /^Notifications, [1-9]\d* unread$/ });
  await expect(bell).toBeVisible();
  await bell.click();
  await expect(page.getByRole('region', { name: 'Notifications' })).toContainText('needs you: Payments are failing');
  await expect(page.getByRole('button', { name: 'Notifications, 0 unread' })).toBeVisible();
  await page.getByRole('button', { name: 'Notifications, 0 unread' }).click();
  await expect(page.getByRole('toolbar', { name: 'Incident actions' })).toBeVisible();

  // Nobody acknowledges: a minute later the policy pages level 2 by itself.
  await expect(timeline).toContainText('Level 2 notified: editor@vigil.local', { timeout: 120_000 });
  await expect(timeline.getByRole('listitem').filter({ hasText: 'Level 2 notified' })).toContainText('vigil');

  // The responder acknowledges with the keyboard…
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('a');
  await expect(timeline).toContainText('Acknowledged.');
  await expect(page.getByRole('definition').filter({ hasText: /after \d+ (s|min)/ }).first()).toBeVisible();

  // …escalates (it asks first; cancelling changes nothing)…
  await page.keyboard.press('e');
  const escalate = page.getByRole('dialog', { name: /Escalate incident/ });
  await expect(escalate).toBeVisible();
  await escalate.getByRole('button', { name: 'Cancel' }).click();
  await expect(escalate).toHaveCount(0);
  await page.getByRole('button', { name: /^Escalate/ }).click();
  await escalate.getByLabel('Reason (optional)').fill('payments team needs to look');
  await escalate.getByRole('button', { name: 'Escalate' }).click();
  await expect(timeline).toContainText('Escalated by hand: payments team needs to look.');
  await expect(timeline).toContainText('Level 3 notified: responder@vigil.local');

  // …and resolves it.
  await page.keyboard.press('r');
  const resolve = page.getByRole('dialog', { name: /Resolve incident/ });
  await resolve.getByLabel('Resolution note (optional)').fill('restarted the payment gateway');
  // A change made elsewhere meanwhile shows live, and leaves the open question as it was.
  const here = page.url();
  const note = await editor.post(`/api/v1/incidents/${here.substring(here.lastIndexOf('/') + 1)}/notes`, {
    data: { message: 'gateway logs attached' },
  });
  expect(note.status()).toBe(200);
  await expect(timeline).toContainText('gateway logs attached');
  await expect(resolve.getByLabel('Resolution note (optional)')).toHaveValue('restarted the payment gateway');
  await resolve.getByRole('button', { name: 'Resolve' }).click();
  await expect(timeline).toContainText('Resolved: restarted the payment gateway.');
  await expect(page.getByRole('button', { name: /^Acknowledge/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Resolve/ })).toHaveCount(0);

  // The timeline reads as the story happened, newest first.
  const entries = await timeline.getByRole('listitem').allTextContents();
  const order = ['Resolved', 'Level 3 notified', 'Escalated by hand', 'Acknowledged.', 'Level 2 notified', 'Level 1 notified'];
  const positions = order.map((text) => entries.findIndex((e) => e.includes(text)));
  expect(positions.every((p) => p >= 0)).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);

  // MTTA and MTTR count this incident: acknowledged after more than the minute level 2 took.
  const url = page.url();
  const id = Number(url.substring(url.lastIndexOf('/') + 1));
  const detail = await (await editor.get(`/api/v1/incidents/${id}`)).json();
  const mtta = (Date.parse(detail.acknowledged_at) - Date.parse(detail.triggered_at)) / 1000;
  const mttr = (Date.parse(detail.resolved_at) - Date.parse(detail.triggered_at)) / 1000;
  expect(mtta).toBeGreaterThanOrEqual(60);
  expect(mttr).toBeGreaterThan(mtta);
  const analytics = await (await editor.get('/api/v1/incidents/analytics')).json();
  const payments = analytics.by_service.find((r: { key: string }) => r.key === 'payments');
  expect(payments.acknowledged).toBeGreaterThanOrEqual(1);
  expect(payments.mtta_seconds).toBeGreaterThanOrEqual(60);

  // Back on the list, filtered to resolved incidents, it is there.
  await page.getByRole('link', { name: '← All incidents' }).click();
  await page.getByRole('button', { name: /^Resolved/ }).click();
  await expect(page).toHaveURL(/status=resolved/);
  await expect(page.getByRole('row').filter({ hasText: 'Payments are failing' })).toContainText('resolved');

  expect((await editor.delete(`/api/v1/alert-rules/${ruleId}`)).status()).toBe(204);
  await editor.dispose();
});

test('a responder opens an incident by hand; a viewer sees incidents without any controls', async ({ page, browser }) => {
  await logIn(page, 'responder@vigil.local');
  await page.goto('/incidents');
  await page.getByRole('link', { name: 'New incident' }).click();
  const form = page.getByRole('form', { name: 'New incident' });
  // A title is required: the error shows beside the field, and what was typed stays.
  await form.getByLabel('Service').fill('search');
  await form.getByRole('button', { name: 'Open incident' }).click();
  await expect(form.getByText('is required')).toBeVisible();
  await expect(form.getByLabel('Service')).toHaveValue('search');
  await form.getByLabel('Title').fill('Search results are stale');
  await form.getByLabel('Severity').selectOption('critical');
  await form.getByRole('button', { name: 'Open incident' }).click();
  await expect(page.getByRole('heading', { name: /Search results are stale/ })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('Opened by hand.');
  const incidentUrl = page.url();

  // A note, then a refused empty note keeps the field and names the problem.
  await page.getByRole('textbox', { name: 'Note', exact: true }).fill('index rebuild is running');
  await page.getByRole('button', { name: 'Add note' }).click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('index rebuild is running');
  await expect(page.getByRole('textbox', { name: 'Note', exact: true })).toHaveValue('');
  await page.getByRole('button', { name: 'Add note' }).click();
  await expect(page.getByText('write the note')).toBeVisible();

  // "My incidents": assigned to me, then only mine are listed.
  await page.getByRole('button', { name: 'Assign to me' }).click();
  await expect(page.getByRole('definition').filter({ hasText: 'responder@vigil.local' })).toBeVisible();
  // Reassigned to the editor through the picker, then back to me.
  await page.getByLabel('Assignee').selectOption({ label: 'Eddie Editor (editor@vigil.local)' });
  await page.getByRole('button', { name: 'Reassign' }).click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('Assigned to editor@vigil.local.');
  await page.getByRole('button', { name: 'Assign to me' }).click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('Assigned to responder@vigil.local.');
  await page.goto('/incidents?mine=true');
  await expect(page.getByLabel('My incidents')).toBeChecked();
  await expect(page.getByRole('row').filter({ hasText: 'Search results are stale' })).toBeVisible();
  // Responders acknowledge from the list too (the viewer below does not get the button).
  await expect(page.getByRole('row').filter({ hasText: 'Search results are stale' }).getByRole('button', { name: /^Acknowledge incident #/ })).toBeVisible();

  // The other filters, kept in the address: whom it is assigned to (picked by name), a team it
  // is not in, and when it was triggered.
  const stale = page.getByRole('row').filter({ hasText: 'Search results are stale' });
  await page.goto('/incidents');
  await expect(stale).toBeVisible();
  await page.getByLabel('Assignee').selectOption({ label: 'Eddie Editor' });
  await expect(page).toHaveURL(/assignee=\d+/);
  await expect(page.getByRole('table', { name: 'Incidents' }).or(page.getByText('No incidents match.'))).toBeVisible();
  await expect(stale).toHaveCount(0);
  await page.getByLabel('Assignee').selectOption({ label: 'Rosa Responder' });
  await expect(stale).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Assignee').locator('option:checked')).toHaveText('Rosa Responder');
  await expect(stale).toBeVisible();
  await page.getByLabel('Triggered').selectOption('Last 24 hours');
  await expect(page).toHaveURL(/period=24h/);
  await expect(stale).toBeVisible();
  await page.getByLabel('Team').selectOption({ label: 'Platform' });
  await expect(page).toHaveURL(/team=\d+/);
  await expect(page.getByRole('table', { name: 'Incidents' }).or(page.getByText('No incidents match.'))).toBeVisible();
  await expect(stale).toHaveCount(0);

  // A viewer: the same incident, no controls anywhere; the server refuses the action too.
  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await logIn(viewer, 'viewer@vigil.local');
  await viewer.goto('/incidents');
  await expect(viewer.getByRole('row').filter({ hasText: 'Search results are stale' })).toBeVisible();
  await expect(viewer.getByRole('link', { name: 'New incident' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /^Acknowledge incident/ })).toHaveCount(0);
  await viewer.goto(incidentUrl);
  await expect(viewer.getByRole('heading', { name: /Search results are stale/ })).toBeVisible();
  await expect(viewer.getByRole('list', { name: 'Timeline' })).toContainText('index rebuild is running');
  await expect(viewer.getByRole('toolbar', { name: 'Incident actions' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /Acknowledge|Escalate|Resolve|Snooze/ })).toHaveCount(0);
  await viewer.keyboard.press('a');
  await expect(viewer.getByRole('list', { name: 'Timeline' })).not.toContainText('Acknowledged.');
  const id = incidentUrl.substring(incidentUrl.lastIndexOf('/') + 1);
  expect((await viewer.request.post(`/api/v1/incidents/${id}/acknowledge`, { headers: sameOrigin })).status()).toBe(403);
  await viewerContext.close();
});

test('a responder adds a webhook contact method and its test message reaches the webhook', async ({ page }) => {
  const received: { body: string }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ body });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/page-me`;

  await logIn(page, 'responder@vigil.local');
  await page.goto('/account');
  const form = page.getByRole('form', { name: 'New contact method' });
  await form.getByLabel('Kind').selectOption('webhook');
  await form.getByLabel('Address').fill('not a url');
  await form.getByRole('button', { name: 'Add' }).click();
  await expect(form.locator('.field-error').filter({ hasText: /URL/ })).toBeVisible();
  await expect(form.getByLabel('Address')).toHaveValue('not a url');
  await form.getByLabel('Address').fill(url);
  await form.getByLabel('Label (optional)').fill('pager bridge');
  await form.getByRole('button', { name: 'Add' }).click();
  const row = page.getByRole('table', { name: 'Contact methods' }).getByRole('row').filter({ hasText: url });
  await expect(row).toContainText('pager bridge');

  await row.getByRole('button', { name: 'Send test' }).click();
  await expect(page.getByText(`Test message sent to ${url}.`)).toBeVisible();
  expect(received).toHaveLength(1);
  expect(JSON.parse(received[0].body).version).toBe('4');

  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByText('None yet: only in-app notifications.')).toBeVisible();
  receiver.close();
});
