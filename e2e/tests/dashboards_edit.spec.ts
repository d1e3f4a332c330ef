// Building and managing dashboards: an editor builds one in the editor (a stat and a time
// series, queries typed in the PromQL editor, units set), saves it and finds it drawn after a
// reload; a second editor's save makes the first one's stale save a conflict, answered by
// "Save as copy" and by "Reload"; the versions page lists the saves, compares two and
// restores one; and Grafana's Node Exporter Full dashboard is checked, then imported.
import { expect, test, type Browser, type Page } from '@playwright/test';
import * as path from 'node:path';
import { logIn, watchConsole } from './helpers';

const fixture = path.resolve(__dirname, '../../../shared/fixtures/grafana/node-exporter-full.json');

/** Adds a panel of `kind` to the first row; its editor opens. */
async function addPanel(page: Page, kind: 'Stat' | 'Time series', title: string, query: string, unit: string) {
  const layout = page.getByRole('group', { name: 'Layout' });
  await layout.getByLabel('Kind of panel').first().selectOption({ label: kind });
  await layout.getByRole('button', { name: 'Add panel' }).first().click();
  const editor = page.getByRole('dialog', { name: /^Edit panel/ });
  await expect(editor).toBeVisible();
  await editor.getByLabel('Title', { exact: true }).fill(title);
  const promql = editor.getByRole('combobox', { name: 'Query A' });
  await promql.click();
  await promql.pressSequentially(query.slice(0, 12));
  await promql.press('Escape');
  await promql.fill(query);
  await editor.getByLabel('Unit').selectOption(unit);
  // The preview runs the query as typed.
  const preview = editor.getByRole('region', { name: 'Preview' });
  await expect(preview.locator(kind === 'Stat' ? '.stat-value' : '[data-testid="panel-plot"][data-drawn="true"]')).toBeVisible();
  await expect(page).toHaveURL(/[?&]panel=panel-\d+/);
  await editor.getByRole('button', { name: 'Done' }).click();
  await expect(editor).toHaveCount(0);
  await expect(page.getByRole('article', { name: `Panel ${title}` })).toBeVisible();
}

async function save(page: Page, message: string) {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Save dashboard' });
  await dialog.getByLabel('What changed (optional)').fill(message);
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
}

async function loggedInPage(browser: Browser, email: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await logIn(page, email);
  return { context, page, problems };
}

test('an editor builds a dashboard, a stale save is a conflict, and the versions page restores a save', async ({ page, browser }) => {
  const problems = watchConsole(page);
  const title = `Checkout overview ${Date.now()}`;
  await logIn(page, 'editor@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboards', exact: true }).click();
  await page.getByRole('link', { name: 'New dashboard' }).click();
  await expect(page).toHaveURL(/\/dashboards\/new$/);

  const settings = page.getByRole('group', { name: 'Settings' });
  await settings.getByLabel('Pointing at a chart shows').selectOption('shared_crosshair');
  await settings.getByLabel('Title').fill(title);
  await settings.getByLabel('Tags').fill('checkout, e2e');
  await addPanel(page, 'Stat', 'Request rate', 'sum(rate(http_requests_total[5m]))', 'reqps');
  await addPanel(page, 'Time series', 'Requests by job', 'sum by (job) (rate(http_requests_total[5m]))', 'ops');

  // Moved and resized with the keyboard-reachable buttons, then dragged by its header.
  const stat = page.getByRole('article', { name: 'Panel Request rate' });
  await stat.getByRole('button', { name: 'Wider: Request rate' }).click();
  await stat.getByRole('button', { name: 'Taller: Request rate' }).click();
  await expect(stat.locator('.grid-place')).toHaveText('7×6 at 0,0');
  // Grown over the time series below it, the stat pushed it down a row.
  const series = page.getByRole('article', { name: 'Panel Requests by job' });
  await expect(series.locator('.grid-place')).toHaveText('12×8 at 0,6');
  const header = stat.locator('.grid-panel-header .grid-panel-title');
  const box = (await header.boundingBox())!;
  const column = ((await page.locator('.dash-grid').first().boundingBox())!.width) / 24;
  await page.mouse.move(box.x + 5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + 5 + column * 3, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect(stat.locator('.grid-place')).toHaveText('7×6 at 3,0');

  await save(page, 'First version');
  await expect(page.getByRole('status').filter({ hasText: 'Saved as version 1.' })).toBeVisible();
  await expect(page).toHaveURL(/\/dashboards\/[^/]+\/edit$/);
  const editUrl = page.url();
  const uid = new URL(editUrl).pathname.split('/')[2];

  // After a reload both panels are there, drawn from their queries: the stat's figure in its
  // unit, the time series' chart.
  await page.reload();
  const statValue = page.getByRole('article', { name: 'Panel Request rate' }).locator('.stat-value');
  await expect(statValue).toHaveText(/^[\d.,]+\s?[A-Za-z]?\s?req\/s$/);
  const chart = page.getByRole('article', { name: 'Panel Requests by job' }).getByTestId('panel-plot');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart.locator('.scatterlayer .trace')).not.toHaveCount(0);
  await expect(page.getByRole('article', { name: 'Panel Request rate' }).locator('.grid-place')).toHaveText('7×6 at 3,0');
  await expect(page.getByRole('article', { name: 'Panel Requests by job' }).locator('.grid-place')).toHaveText('12×8 at 0,6');
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Pointing at a chart shows')).toHaveValue('shared_crosshair');

  // A second editor saves first.
  const other = await loggedInPage(browser, 'admin@vigil.local');
  await other.page.goto(editUrl);
  await other.page.getByRole('group', { name: 'Settings' }).getByLabel('Title').fill(`${title} (renamed)`);
  await save(other.page, 'Renamed by the admin');
  await expect(other.page.getByRole('status').filter({ hasText: 'Saved as version 2.' })).toBeVisible();

  // The first editor's save, started from version 1, is stale.
  await page.getByRole('group', { name: 'Settings' }).getByLabel('Folder').fill('Shop');
  await save(page, 'Into the Shop folder');
  const conflict = page.getByRole('alertdialog', { name: 'Dashboard changed' });
  await expect(conflict).toBeVisible();
  await expect(conflict).toContainText('Version 2');
  await expect(conflict.getByRole('button', { name: 'Save as copy' })).toBeVisible();
  await conflict.getByRole('button', { name: 'Reload' }).click();
  await expect(conflict).toHaveCount(0);
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Title')).toHaveValue(`${title} (renamed)`);
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Folder')).toHaveValue('');

  // Stale again (the admin saves once more): this time the editor keeps theirs as a copy.
  await other.page.getByRole('group', { name: 'Settings' }).getByLabel('Tags').fill('checkout, e2e, admin');
  await save(other.page, 'Tagged');
  await expect(other.page.getByRole('status').filter({ hasText: 'Saved as version 3.' })).toBeVisible();
  await page.getByRole('group', { name: 'Settings' }).getByLabel('Folder').fill('Shop');
  await save(page, 'Into the Shop folder');
  await expect(conflict).toBeVisible();
  await conflict.getByRole('button', { name: 'Save as copy' }).click();
  await expect(page).not.toHaveURL(editUrl);
  await expect(page).toHaveURL(/\/dashboards\/[^/]+\/edit$/);
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Title')).toHaveValue(`${title} (renamed) (copy)`);
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Folder')).toHaveValue('Shop');
  const copyUrl = page.url();
  await other.context.close();

  // The history lists every save with its message, compares two, and restores the first.
  await page.goto(`/dashboards/${uid}/versions`);
  const versions = page.getByRole('table', { name: 'Versions' });
  await expect(versions.locator('tbody tr')).toHaveCount(3);
  await expect(versions).toContainText('First version');
  await expect(versions).toContainText('Renamed by the admin');
  await expect(versions).toContainText('Tagged');
  await page.getByLabel('Compare', { exact: true }).selectOption('1');
  await page.getByLabel('with', { exact: true }).selectOption('2');
  await page.getByRole('button', { name: 'Show changes' }).click();
  const changes = page.getByLabel('Changes');
  await expect(changes.locator('.diff-removed')).toContainText([`"title": "${title}",`]);
  await expect(changes.locator('.diff-added')).toContainText([`"title": "${title} (renamed)",`]);
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Version 1 restored as version 4.' })).toBeVisible();
  await expect(versions.locator('tbody tr')).toHaveCount(4);
  await page.goto(editUrl);
  await expect(page.getByRole('group', { name: 'Settings' }).getByLabel('Title')).toHaveValue(title);

  // The list finds it by its tag.
  await page.goto('/dashboards');
  await page.getByLabel('Tag', { exact: true }).selectOption('e2e');
  await expect(page.getByRole('link', { name: title, exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `${title} (renamed) (copy)`, exact: true })).toBeVisible();

  // The copy is deleted from its editor, after a confirmation.
  await page.goto(copyUrl);
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/dashboards$/);
  await expect(page.getByRole('link', { name: title, exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `${title} (renamed) (copy)`, exact: true })).toHaveCount(0);

  expect(problems, 'no script errors in the console').toEqual([]);
});

test('an editor adds a link, a variable whose "All" stands for a value of their own and a row to put a panel in, in the form; a bad address is refused beside its field', async ({ page }) => {
  // The session check before logging in answers 401, the refused save 422.
  const problems = watchConsole(page, /status of (401|422)/);
  const title = `Linked ${Date.now()}`;
  await logIn(page, 'editor@vigil.local');
  await page.goto('/dashboards/new');
  const settings = page.getByRole('group', { name: 'Settings' });
  await settings.getByLabel('Title', { exact: true }).first().fill(title);

  await settings.getByRole('button', { name: 'Add link' }).click();
  const link = settings.getByRole('group', { name: 'Link 1' });
  await link.getByLabel('Title').fill('Open alerts');
  await link.getByLabel('Address').fill('javascript:alert(1)');

  const variables = page.getByRole('group', { name: 'Variables' });
  await variables.getByRole('button', { name: 'Add variable' }).click();
  const variable = variables.getByRole('group', { name: 'Variable var1' });
  await variable.getByLabel('Name').fill('job');
  const job = variables.getByRole('group', { name: 'Variable job' });
  await job.getByLabel('Values', { exact: true }).fill('checkout, payments');
  await job.getByLabel('Values', { exact: true }).blur();
  await job.getByLabel('Several values may be picked').check();
  await job.getByLabel('Offer "All"').check();
  await job.getByLabel('"All" stands for (empty: every value)').fill('.+');
  await job.getByLabel('Default values').fill('$__all');
  await job.getByLabel('Default values').blur();
  await addPanel(page, 'Time series', 'Up by job', 'sum by (job) (up{job=~"$job"})', 'short');
  // Into a row of its own, by the panel's row picker.
  await page.getByRole('group', { name: 'Layout' }).getByRole('button', { name: 'Add row' }).click();
  await page.getByLabel('Row of Up by job').selectOption({ label: 'Row 2' });
  await expect(page.getByRole('region', { name: 'Row Row 2' }).getByRole('article', { name: 'Panel Up by job' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Row Untitled row' }).getByRole('article')).toHaveCount(0);

  await save(page, 'With a link');
  await expect(link.getByLabel('Address')).toHaveAttribute('aria-invalid', 'true');
  await expect(link.locator('#link-0-url-error')).toHaveText(/must be an http\(s\) address or a path starting with \//);
  await expect(link.getByLabel('Address')).toHaveValue('javascript:alert(1)');
  await page.keyboard.press('Escape');
  await link.getByLabel('Address').fill('/alerts');
  await save(page, 'With a link');
  await expect(page.getByRole('status').filter({ hasText: 'Saved as version 1.' })).toBeVisible();
  const uid = new URL(page.url()).pathname.split('/')[2];

  // The view: the link beside the title, and "All" asked as the value typed for it.
  const asked: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/api/v1/query/batch')) {
      asked.push(...(request.postDataJSON().queries as { expr: string }[]).map((q) => q.expr));
    }
  });
  await page.goto(`/dashboards/${uid}`);
  await expect(page.getByRole('navigation', { name: 'Dashboard links' }).getByRole('link', { name: 'Open alerts' })).toHaveAttribute('href', '/alerts');
  await expect(page.getByRole('article', { name: 'Up by job' }).getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  expect(asked).toContain('sum by (job) (up{job=~".+"})');

  // And the editor shows them again after a reload, the panel in its row.
  await page.goto(`/dashboards/${uid}/edit`);
  await expect(page.getByRole('region', { name: 'Row Row 2' }).getByRole('article', { name: 'Panel Up by job' })).toBeVisible();
  await expect(page.getByRole('group', { name: 'Link 1' }).getByLabel('Address')).toHaveValue('/alerts');
  await expect(page.getByRole('group', { name: 'Variable job' }).getByLabel('"All" stands for (empty: every value)')).toHaveValue('.+');
  expect(problems, 'no script errors in the console').toEqual([]);
});

test('an editor checks Grafana\'s Node Exporter Full dashboard, reads the conversion report, and imports it', async ({ page }) => {
  const problems = watchConsole(page);
  await logIn(page, 'editor@vigil.local');
  await page.goto('/dashboards');
  await page.getByRole('link', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/dashboards\/import$/);

  // Not JSON: refused beside the field with where it breaks.
  await page.getByLabel('Or paste the JSON').fill('{"title": }');
  await page.getByRole('button', { name: 'Check' }).click();
  await expect(page.locator('#field-dashboard-error')).toContainText(/^Line 1, column \d+/);

  await page.getByLabel('Upload a JSON file').setInputFiles(fixture);
  await expect(page.getByLabel('Or paste the JSON')).toHaveValue(/"Node Exporter Full"/);
  await page.getByRole('button', { name: 'Check' }).click();
  const report = page.getByRole('status', { name: 'Conversion report' });
  await expect(report).toContainText(/Node Exporter Full \(Grafana JSON\): \d+ panels, \d+ variables/);
  const notes = report.locator('.import-report li');
  if ((await notes.count()) > 0) await expect(notes.first().locator('code')).not.toBeEmpty();

  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/dashboards\/(?!import$)[^/?]+$/);
  await page.goto('/dashboards');
  await expect(page.getByRole('link', { name: 'Node Exporter Full' }).first()).toBeVisible();

  expect(problems, 'no script errors in the console').toEqual([]);
});

test('viewers see the dashboards but not the editor', async ({ page }) => {
  await logIn(page, 'viewer@vigil.local');
  await page.goto('/dashboards');
  await expect(page.getByRole('heading', { name: 'Dashboards', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New dashboard' })).toHaveCount(0);
  await page.goto('/dashboards/new');
  await expect(page.getByText('Building and importing dashboards needs the editor role.')).toBeVisible();
});

test('an admin sets a role\'s home dashboard, and a viewer picks their own on the account page', async ({ page, browser }) => {
  const problems = watchConsole(page);
  await logIn(page, 'admin@vigil.local');
  await page.goto('/admin/users');
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Home dashboards' }).click();
  await expect(page).toHaveURL(/\/admin\/home-dashboards$/);
  const viewerHome = page.getByLabel('Role viewer', { exact: true });
  await expect(viewerHome.locator('option:checked')).toHaveText('Service health');
  await viewerHome.selectOption({ label: 'SLA overview' });
  await page.getByRole('button', { name: 'Save home dashboards' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Home dashboards saved.' })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Role viewer', { exact: true }).locator('option:checked')).toHaveText('SLA overview');

  const viewer = await loggedInPage(browser, 'viewer@vigil.local');
  await viewer.page.goto('/account');
  const own = viewer.page.getByLabel('Home dashboard', { exact: true });
  await expect(own.locator('option:checked')).toHaveText('Follow my team and role (now SLA overview)');
  await own.selectOption({ label: 'Platform overview' });
  await viewer.page.getByRole('form', { name: 'My home dashboard' }).getByRole('button', { name: 'Save' }).click();
  await expect(viewer.page.getByRole('status').filter({ hasText: 'Home dashboard saved.' })).toBeVisible();
  let home = await (await viewer.page.request.get('/api/v1/home-dashboard')).json();
  expect([home.chosen_by, home.dashboard.title]).toEqual(['user', 'Platform overview']);
  await own.selectOption({ index: 0 });
  await viewer.page.getByRole('form', { name: 'My home dashboard' }).getByRole('button', { name: 'Save' }).click();
  await expect.poll(async () => (await (await viewer.page.request.get('/api/v1/home-dashboard')).json()).chosen_by).toBe('role');
  home = await (await viewer.page.request.get('/api/v1/home-dashboard')).json();
  expect(home.dashboard.title).toBe('SLA overview');
  expect(viewer.problems, 'no script errors in the viewer\'s console').toEqual([]);
  await viewer.context.close();

  // The demo's choice again, for the other tests.
  await page.getByLabel('Role viewer', { exact: true }).selectOption({ label: 'Service health' });
  await page.getByRole('button', { name: 'Save home dashboards' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Home dashboards saved.' })).toBeVisible();
  expect(problems, 'no script errors in the console').toEqual([]);
});
