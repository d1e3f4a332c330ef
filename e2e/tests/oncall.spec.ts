// On-call: an editor builds a schedule (refused first for a bad time zone, keeping what was
// typed), reads who is on call now and the calendar, overrides the rotation and sees the
// override marked; builds an escalation policy level by level and reorders it; a viewer reads
// the on-call dashboard and the lists but is offered no editing.
import { expect, test, type APIRequestContext } from '@playwright/test';
import { demoPassword, logIn, sameOrigin } from './helpers';

/** A local date `days` from today, as a date input takes it. */
function isoDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Creates a schedule through the API as an editor; answers its id and name. */
async function scheduleFor(api: APIRequestContext, name: string): Promise<number> {
  const directory = await (await api.get('/api/v1/users/directory')).json();
  const id = (email: string) => directory.users.find((u: { email: string }) => u.email === email).id;
  const created = await api.post('/api/v1/schedules', {
    headers: sameOrigin,
    data: {
      name,
      timezone: 'UTC',
      rotation: 'daily',
      start_date: isoDate(-7),
      handoff_time: '09:00',
      participants: [id('responder@vigil.local'), id('editor@vigil.local')],
    },
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id;
}

test('an editor builds a schedule, sees who is on call and the calendar, and overrides it', async ({ page }) => {
  const name = `Payments primary ${Date.now()}`;
  await logIn(page, 'editor@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'On-call' }).click();
  await page.getByRole('navigation', { name: 'On-call' }).getByRole('link', { name: 'Schedules' }).click();
  await page.getByRole('link', { name: 'New schedule' }).click();
  await expect(page).toHaveURL(/\/oncall\/schedules\/new$/);

  const form = page.getByRole('form', { name: 'Schedule' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await form.getByLabel('Rotation', { exact: true }).selectOption({ label: 'Daily' });
  await form.getByLabel('Start date').fill(isoDate(-7));
  await form.getByLabel('Handoff time').fill('09:00');
  for (const person of ['Eddie Editor (editor@vigil.local)', 'Rosa Responder (responder@vigil.local)']) {
    await form.getByLabel('Add a participant').selectOption({ label: person });
    await form.getByRole('button', { name: 'Add participant' }).click();
  }
  const participants = form.getByRole('list', { name: 'Participants, in rotation order' }).getByRole('listitem');
  await expect(participants).toHaveText([/Eddie Editor/, /Rosa Responder/]);
  // Rosa first, then Eddie.
  await form.getByRole('button', { name: 'Move Rosa Responder up' }).click();
  await expect(participants).toHaveText([/Rosa Responder/, /Eddie Editor/]);

  // The server refuses the time zone beside its field; everything typed stays.
  await form.getByRole('button', { name: 'Save schedule' }).click();
  await expect(form.getByText('"Mars/Olympus_Mons" is not an IANA time zone')).toBeVisible();
  await expect(form.getByLabel('Time zone')).toHaveValue('Mars/Olympus_Mons');
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(form.getByLabel('Start date')).toHaveValue(isoDate(-7));
  await expect(participants).toHaveText([/Rosa Responder/, /Eddie Editor/]);

  await form.getByLabel('Time zone').fill('Europe/Berlin');
  await form.getByRole('button', { name: 'Save schedule' }).click();
  await expect(page.getByText(`Saved schedule ${name}.`)).toBeVisible();
  await expect(page).toHaveURL(/\/oncall\/schedules\/\d+$/);
  await expect(form.getByText('is not an IANA time zone')).toHaveCount(0);

  // Who is on call now, and the next two weeks of the rotation.
  const onCall = page.locator('.card').filter({ has: page.getByRole('heading', { name: 'On call now' }) });
  await expect(onCall).toContainText(/(Rosa Responder|Eddie Editor) until /);
  const calendar = page.getByRole('region', { name: 'On-call calendar' });
  await expect(calendar.locator('.calendar-day')).toHaveCount(14);
  await expect(calendar.locator('.shift', { hasText: 'Rosa Responder' }).first()).toBeVisible();
  await expect(calendar.locator('.shift', { hasText: 'Eddie Editor' }).first()).toBeVisible();
  await expect(calendar.locator('.shift.override')).toHaveCount(0);
  await calendar.getByLabel('Show').selectOption({ label: '4 weeks' });
  await expect(calendar.locator('.calendar-day')).toHaveCount(28);

  // Vic covers the next eight hours: on call now, and marked as an override in the calendar.
  const override = page.getByRole('form', { name: 'New override' });
  await override.getByLabel('Who').selectOption({ label: 'Vic Viewer (viewer@vigil.local)' });
  await override.getByRole('button', { name: 'Add override' }).click();
  await expect(page.getByText('Added an override for Vic Viewer.')).toBeVisible();
  await expect(onCall).toContainText('Vic Viewer until');
  await expect(onCall.getByText('override', { exact: true })).toBeVisible();
  await expect(calendar.locator('.shift.override').filter({ hasText: 'Vic Viewer (override)' }).first()).toBeVisible();
  const overrides = page.getByRole('table', { name: 'Overrides' });
  await expect(overrides).toContainText('Vic Viewer');

  // The on-call dashboard says the same.
  await page.getByRole('navigation', { name: 'On-call' }).getByRole('link', { name: 'Overview' }).click();
  const row = page.getByRole('table', { name: 'On call now' }).getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('Vic Viewer until');
  await expect(row).toContainText('override');
  await row.getByRole('link', { name }).click();

  // Removing the override gives the shift back to the rotation.
  await page.getByRole('button', { name: 'Remove the override for Vic Viewer' }).click();
  await expect(page.getByText('Removed the override.')).toBeVisible();
  await expect(onCall).toContainText(/(Rosa Responder|Eddie Editor) until /);
  await expect(calendar.locator('.shift.override')).toHaveCount(0);
});

test('an editor builds an escalation policy level by level and reorders it', async ({ page }) => {
  await logIn(page, 'editor@vigil.local');
  const schedule = `Storage rota ${Date.now()}`;
  await scheduleFor(page.request, schedule);
  const name = `Storage escalation ${Date.now()}`;

  await page.goto('/oncall/policies');
  await page.getByRole('link', { name: 'New policy' }).click();
  const form = page.getByRole('form', { name: 'Escalation policy' });
  await form.getByLabel('Name', { exact: true }).fill(name);

  const level1 = form.getByRole('group', { name: 'Level 1' });
  await level1.getByLabel('Delay (minutes)').fill('0');
  await level1.getByLabel('Target', { exact: true }).selectOption({ label: 'Eddie Editor (editor@vigil.local)' });
  await level1.getByRole('button', { name: 'Add to level 1' }).click();
  await expect(level1.getByRole('list', { name: 'Level 1 targets' })).toContainText('Eddie Editor');

  await form.getByRole('button', { name: 'Add level' }).click();
  const level2 = form.getByRole('group', { name: 'Level 2' });
  await level2.getByLabel('Delay (minutes)').fill('20000');
  await level2.getByLabel('Kind', { exact: true }).selectOption({ label: 'Whoever is on call on a schedule' });
  await level2.getByLabel('Target', { exact: true }).selectOption({ label: schedule });
  await level2.getByRole('button', { name: 'Add to level 2' }).click();
  await expect(level2.getByRole('list', { name: 'Level 2 targets' })).toContainText(`schedule ${schedule}`);
  await form.getByLabel('Acknowledgment timeout (minutes)').fill('60');

  // A delay over a week is refused beside its level; what was typed stays.
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(level2.getByText('level 2: the delay is at most a week (10080 minutes)')).toBeVisible();
  await expect(level2.getByLabel('Delay (minutes)')).toHaveValue('20000');
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(level1.getByRole('list', { name: 'Level 1 targets' })).toContainText('Eddie Editor');

  // The schedule first, then Eddie.
  await level2.getByLabel('Delay (minutes)').fill('30');
  await form.getByRole('button', { name: 'Move level 2 up' }).click();
  await expect(level1.getByRole('list', { name: 'Level 1 targets' })).toContainText(`schedule ${schedule}`);
  await expect(level1.getByLabel('Delay (minutes)')).toHaveValue('30');
  await expect(level2.getByRole('list', { name: 'Level 2 targets' })).toContainText('Eddie Editor');
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText(`Saved escalation policy ${name}.`)).toBeVisible();
  await expect(page).toHaveURL(/\/oncall\/policies\/\d+$/);

  // Read back from the server in that order.
  await page.reload();
  await expect(level1.getByLabel('Delay (minutes)')).toHaveValue('30');
  await expect(level1.getByRole('list', { name: 'Level 1 targets' })).toContainText(`schedule ${schedule}`);
  await expect(level2.getByRole('list', { name: 'Level 2 targets' })).toContainText('Eddie Editor');
  await expect(form.getByLabel('Acknowledgment timeout (minutes)')).toHaveValue('60');
  await page.getByRole('navigation', { name: 'On-call' }).getByRole('link', { name: 'Escalation policies' }).click();
  await expect(page.getByRole('table', { name: 'Escalation policies' }).getByRole('row').filter({ hasText: name }))
    .toContainText(`30 min: schedule ${schedule} · 0 min: Eddie Editor`);
});

test('a viewer reads the on-call dashboard, schedules and policies but is offered no editing', async ({ page, playwright, baseURL }) => {
  const editor = await playwright.request.newContext({ baseURL, extraHTTPHeaders: sameOrigin });
  const login = await editor.post('/api/v1/auth/login', { data: { email: 'editor@vigil.local', password: demoPassword } });
  expect(login.status()).toBe(200);
  const schedule = `Search rota ${Date.now()}`;
  const scheduleId = await scheduleFor(editor, schedule);
  const policy = await editor.post('/api/v1/escalation-policies', {
    data: { name: `Search escalation ${Date.now()}`, levels: [{ delay_minutes: 0, targets: [{ kind: 'schedule', id: scheduleId }] }] },
  });
  expect(policy.status()).toBe(201);
  const policyId = (await policy.json()).id;
  // An incident opened by hand and acknowledged: it counts as open, and in MTTA.
  const service = `oncall-e2e-${Date.now()}`;
  const incident = await editor.post('/api/v1/incidents', { data: { title: 'Search is slow', service } });
  expect(incident.status()).toBe(201);
  const acknowledged = await editor.post(`/api/v1/incidents/${(await incident.json()).id}/acknowledge`);
  expect(acknowledged.status()).toBe(200);

  await logIn(page, 'viewer@vigil.local');
  await page.goto('/oncall');
  const row = page.getByRole('table', { name: 'On call now' }).getByRole('row').filter({ hasText: schedule });
  await expect(row).toContainText(/(Rosa Responder|Eddie Editor) until /);
  await expect(page.getByRole('link', { name: /triggered/ })).toHaveAttribute('href', '/incidents?status=triggered');
  const acknowledgedLink = page.getByRole('link', { name: /acknowledged/ });
  await expect(acknowledgedLink).toHaveAttribute('href', '/incidents?status=acknowledged');
  expect(Number(await acknowledgedLink.locator('strong').textContent())).toBeGreaterThanOrEqual(1);
  const analytics = page.getByRole('table', { name: 'MTTA and MTTR' });
  await expect(analytics).toContainText('All incidents');
  await expect(analytics.getByRole('columnheader', { name: 'MTTR' })).toBeVisible();
  // Acknowledged within seconds, not resolved: an MTTA and no MTTR yet.
  await expect(analytics.getByRole('row').filter({ hasText: service })).toHaveText(/^\s*oncall-e2e-\d+\s*1\s*1\s*0\s*\d+ s\s*—\s*$/);
  await page.getByLabel('Period').selectOption({ label: 'Last 7 days' });
  await expect(analytics).toContainText('By day');
  await expect(analytics.getByRole('row').filter({ hasText: service })).toBeVisible();

  await page.getByRole('navigation', { name: 'On-call' }).getByRole('link', { name: 'Schedules' }).click();
  await expect(page.getByRole('table', { name: 'Schedules' })).toContainText(schedule);
  await expect(page.getByRole('link', { name: 'New schedule' })).toHaveCount(0);
  await page.getByRole('link', { name: schedule }).click();
  await expect(page.getByText('changing it needs the editor role')).toBeVisible();
  await expect(page.getByRole('region', { name: 'On-call calendar' }).locator('.shift').first()).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toBeDisabled();
  for (const button of ['Save schedule', 'Add participant', 'Add override', 'Delete schedule']) {
    await expect(page.getByRole('button', { name: button })).toHaveCount(0);
  }
  await expect(page.getByRole('form', { name: 'New override' })).toHaveCount(0);

  await page.getByRole('navigation', { name: 'On-call' }).getByRole('link', { name: 'Escalation policies' }).click();
  await expect(page.getByRole('table', { name: 'Escalation policies' })).toContainText(`0 min: schedule ${schedule}`);
  await expect(page.getByRole('link', { name: 'New policy' })).toHaveCount(0);
  await page.goto(`/oncall/policies/${policyId}`);
  await expect(page.getByText('changing it needs the editor role')).toBeVisible();
  await expect(page.getByRole('group', { name: 'Level 1' })).toContainText(`schedule ${schedule}`);
  for (const button of ['Save policy', 'Add level', 'Delete policy', 'Remove level 1']) {
    await expect(page.getByRole('button', { name: button })).toHaveCount(0);
  }

  const refused = await page.request.post('/api/v1/schedules', {
    headers: sameOrigin,
    data: { name: 'x', timezone: 'UTC', rotation: 'daily', start_date: isoDate(0), participants: [1] },
  });
  expect(refused.status()).toBe(403);
});
