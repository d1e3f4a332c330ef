// Dashboards as their viewers see them: a viewer lands on their role's home dashboard with its
// charts drawn from the demo workload, changes a variable (the chained one follows, the panels
// redraw, the address keeps the choice), zooms by dragging across a chart and goes back, sees an
// incident drawn on the charts, and off-screen or collapsed panels are fetched only once shown.
// The dashboard is made through the API, and set as the viewer role's home, before the test.
import { expect, test, type APIRequestContext, type Page, type Request } from '@playwright/test';
import { demoPassword, logIn, sameOrigin, watchConsole } from './helpers';

const uid = 'e2e-service-rates';
const incidentTitle = 'E2E dashboard incident';
/** A query only the panel far below the fold asks, and one only the collapsed row's panel asks. */
const belowFoldExpr = 'count(up{job=~"$job"})';
const collapsedExpr = 'max(up{job=~"$job"})';

const model = {
  title: 'E2E service rates',
  time: { range: '1h' },
  tooltip: 'shared_tooltip',
  variables: [
    {
      name: 'job',
      label: 'Service',
      // The regex keeps two of the demo's three services.
      source: { kind: 'query', query: 'label_values(http_requests_total, job)', regex: '/^(checkout|payments)$/' },
      default: ['checkout'],
    },
    {
      name: 'instance',
      label: 'Instance',
      source: { kind: 'query', query: 'label_values(http_requests_total{job=~"$job"}, instance)' },
      multi: true,
      include_all: true,
      default: ['$__all'],
    },
  ],
  panels: {
    rate: {
      kind: 'time_series',
      title: 'Requests of $job',
      unit: 'reqps',
      queries: [{ expr: 'sum by (instance) (rate(http_requests_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))', legend: '{{instance}}' }],
    },
    errors: {
      kind: 'time_series',
      title: 'Errors of $job',
      queries: [{ expr: 'sum(rate(http_requests_total{job=~"$job", status=~"5.."}[$__rate_interval]))', legend: 'errors' }],
    },
    far: {
      kind: 'time_series',
      title: 'Far below',
      queries: [{ expr: belowFoldExpr, legend: 'up' }],
    },
    folded: {
      kind: 'time_series',
      title: 'In a collapsed row',
      queries: [{ expr: collapsedExpr, legend: 'up' }],
    },
  },
  layout: [
    {
      items: [
        { panel: 'rate', x: 0, y: 0, w: 12, h: 9 },
        { panel: 'errors', x: 12, y: 0, w: 12, h: 9 },
        { panel: 'far', x: 0, y: 80, w: 24, h: 8 },
      ],
    },
    { title: 'More', collapsed: true, items: [{ panel: 'folded', x: 0, y: 0, w: 24, h: 8 }] },
  ],
};

async function apiAs(
  playwright: { request: { newContext: (o: object) => Promise<APIRequestContext> } },
  baseURL: string | undefined,
  email: string,
) {
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: sameOrigin });
  const login = await api.post('/api/v1/auth/login', { data: { email, password: demoPassword } });
  expect(login.status()).toBe(200);
  return api;
}

/** The expressions each batched query request asked, in order. */
function batches(page: Page): string[][] {
  const asked: string[][] = [];
  page.on('request', (request: Request) => {
    if (request.method() === 'POST' && request.url().endsWith('/api/v1/query/batch')) {
      asked.push((request.postDataJSON().queries as { expr: string }[]).map((q) => q.expr));
    }
  });
  return asked;
}

let homesBefore: unknown;

test.beforeAll(async ({ playwright, baseURL }) => {
  test.setTimeout(180_000);
  const admin = await apiAs(playwright, baseURL, 'admin@vigil.local');
  // The demo writes its workload's last hours at start: wait for the hour the dashboard shows.
  const hourOfSamples = 'count_over_time(up{instance="checkout-0:9000"}[1h])';
  await expect
    .poll(
      async () => {
        const answer = await (await admin.get(`/prometheus/api/v1/query?query=${encodeURIComponent(hourOfSamples)}`)).json();
        return Number(answer.data?.result?.[0]?.value?.[1] ?? 0);
      },
      { timeout: 150_000, intervals: [2_000] },
    )
    .toBeGreaterThanOrEqual(230);
  // After a failed test the setup runs again, on the same server.
  let found = await admin.get(`/api/v1/dashboards/${uid}`);
  if (found.status() === 404) {
    found = await admin.post('/api/v1/dashboards', { data: { model, uid } });
    expect(found.status(), await found.text()).toBe(201);
  }
  const dashboard = await found.json();
  const homes = await admin.get('/api/v1/home-dashboards');
  expect(homes.status()).toBe(200);
  homesBefore ??= await homes.json();
  const current = homesBefore as { roles: Record<string, number>; teams: Record<string, number> };
  const set = await admin.put('/api/v1/home-dashboards', {
    data: { roles: { ...current.roles, viewer: dashboard.id }, teams: current.teams },
  });
  expect(set.status(), await set.text()).toBe(200);
  const incident = await admin.post('/api/v1/incidents', {
    data: { title: incidentTitle, severity: 'critical', service: 'payments' },
  });
  expect(incident.status(), await incident.text()).toBe(201);
  await admin.dispose();
});

test.afterAll(async ({ playwright, baseURL }) => {
  // Other specs see the demo's own homes again.
  const admin = await apiAs(playwright, baseURL, 'admin@vigil.local');
  await admin.put('/api/v1/home-dashboards', { data: homesBefore });
  await admin.dispose();
});

test('a viewer lands on their home dashboard, picks a service and instances, zooms and goes back, and sees an incident on the charts', async ({ page }) => {
  // The session check before logging in answers 401.
  const problems = watchConsole(page, /status of 401/);
  const asked = batches(page);
  await logIn(page, 'viewer@vigil.local');

  // The home page is the role's home dashboard, its charts drawn from the demo workload.
  await expect(page.getByRole('heading', { name: 'E2E service rates' })).toBeVisible();
  const rate = page.getByRole('article', { name: 'Requests of checkout' });
  await expect(rate.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  await expect(rate.locator('.legend')).toContainText('checkout-0:9000');
  await expect(page.getByRole('article', { name: 'Errors of checkout' }).getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  // The variable's options went through its regex: search is left out.
  const service = page.getByLabel('Service', { exact: true });
  await expect(service.locator('option')).toHaveText(['checkout', 'payments']);

  // The panels on screen came in one batch; the one far below and the collapsed one were not asked.
  expect(asked.length).toBeGreaterThanOrEqual(1);
  expect(asked[0].some((expr) => expr.includes('rate(http_requests_total{job=~"checkout"'))).toBe(true);
  expect(asked[0].some((expr) => expr.includes('sum(rate(http_requests_total{job=~"checkout", status=~"5.."}'))).toBe(true);
  expect(asked.flat().some((expr) => expr.startsWith('count(up'))).toBe(false);
  expect(asked.flat().some((expr) => expr.startsWith('max(up'))).toBe(false);

  // An open incident is drawn on every time-series chart as a shaded span, with its title on hover.
  const incidentSpan = rate.locator('.shapelayer path');
  await expect
    .poll(async () => incidentSpan.evaluateAll((paths) => paths.some((p) => (p as SVGPathElement).style.fill === 'rgb(224, 47, 68)')))
    .toBe(true);
  const marker = rate.locator('.scatterlayer .trace').last().locator('.point').last();
  await marker.hover({ force: true });
  await expect(rate.locator('.hoverlayer')).toContainText(incidentTitle);
  // The dashboard shares the tooltip: the other chart marks the same moment and shows its values there.
  const errors = page.getByRole('article', { name: 'Errors of checkout' });
  await expect(errors.locator('.panel-crosshair')).toBeVisible();
  await expect(errors.locator('.hoverlayer .hovertext').first()).toBeAttached();

  // Another service: the chained instance variable follows, the panels redraw, the address keeps it.
  await service.selectOption('payments');
  await expect(page).toHaveURL(/[?&]var-job=payments(&|$)/);
  const payments = page.getByRole('article', { name: 'Requests of payments' });
  await expect(payments.locator('.legend')).toContainText('payments-0:9000');
  await expect(payments.locator('.legend')).not.toContainText('checkout');
  await expect(payments.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  await page.locator('#var-instance').click();
  const instances = page.locator('.variable-options').getByRole('checkbox');
  await expect(instances).toHaveCount(3); // All, payments-0:9000, payments-1:9000
  await page.locator('.variable-options').getByText('payments-1:9000', { exact: true }).click();
  await expect(page).toHaveURL(/[?&]var-instance=payments-1%3A9000(&|$)/);
  await expect(payments.locator('.legend')).not.toContainText('payments-0:9000');
  await expect(payments.locator('.legend')).toContainText('payments-1:9000');

  // A link reproduces the view.
  await page.reload();
  await expect(page.getByLabel('Service', { exact: true })).toHaveValue('payments');
  await expect(page.getByRole('article', { name: 'Requests of payments' }).locator('.legend')).toContainText('payments-1:9000');
  await expect(page.getByRole('article', { name: 'Requests of payments' }).locator('.legend')).not.toContainText('payments-0:9000');

  // Dragging across a chart zooms the dashboard; "Back" returns to the range before.
  await expect(page).toHaveURL(/[?&]from=now-1h&to=now(&|$)/);
  const chart = page.getByRole('article', { name: 'Requests of payments' });
  await expect(chart.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  const area = await chart.locator('.nsewdrag').first().boundingBox();
  expect(area).not.toBeNull();
  const y = area!.y + area!.height / 2;
  await page.mouse.move(area!.x + area!.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(area!.x + area!.width * 0.5, y, { steps: 5 });
  await page.mouse.move(area!.x + area!.width * 0.7, y, { steps: 5 });
  await page.mouse.up();
  await expect(page).toHaveURL(/[?&]from=\d{13}&to=\d{13}(&|$)/);
  const zoomed = new URL(page.url()).searchParams;
  const span = Number(zoomed.get('to')) - Number(zoomed.get('from'));
  expect(span).toBeGreaterThan(10 * 60_000);
  expect(span).toBeLessThan(35 * 60_000);
  expect(zoomed.get('var-job')).toBe('payments');
  await page.getByRole('button', { name: 'Back', exact: true }).click();
  await expect(page).toHaveURL(/[?&]from=now-1h&to=now(&|$)/);
  await expect(page.getByRole('button', { name: 'Back', exact: true })).toHaveCount(0);

  // The panel far below is fetched once scrolled into view, in a batch of its own.
  const far = page.getByRole('article', { name: 'Far below' });
  const before = asked.length;
  await far.scrollIntoViewIfNeeded();
  await expect(far.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  const later = asked.slice(before);
  expect(later.some((batch) => batch.length === 1 && batch[0] === 'count(up{job=~"payments"})')).toBe(true);

  // A collapsed row's panel is neither drawn nor fetched until the row is opened.
  await expect(page.getByRole('article', { name: 'In a collapsed row' })).toHaveCount(0);
  await page.getByRole('button', { name: /More/ }).click();
  const folded = page.getByRole('article', { name: 'In a collapsed row' });
  await folded.scrollIntoViewIfNeeded();
  await expect(folded.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  expect(asked.flat()).toContain('max(up{job=~"payments"})');

  expect(problems, 'no script errors in the console').toEqual([]);
});

test('a panel goes full screen and back, and opens in Explore and in a new alert rule with its query filled in', async ({ page }) => {
  // The session check before logging in answers 401.
  const problems = watchConsole(page, /status of 401/);
  await logIn(page, 'editor@vigil.local');
  await page.goto(`/dashboards/${uid}?var-job=payments`);
  const rate = page.getByRole('article', { name: 'Requests of payments' });
  await expect(rate.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');

  await rate.getByRole('button', { name: 'Panel menu' }).click();
  await rate.getByRole('menuitem', { name: 'Full screen' }).click();
  await expect(page).toHaveURL(/[?&]viewPanel=rate(&|$)/);
  const dialog = page.getByRole('dialog', { name: 'Panel in full screen' });
  await expect(dialog.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  await expect(page.getByRole('article', { name: 'Errors of payments' })).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page).not.toHaveURL(/viewPanel/);
  await expect(page.getByRole('article', { name: 'Errors of payments' })).toBeVisible();

  // An editor may edit the panel: the menu links to the editor.
  await rate.getByRole('button', { name: 'Panel menu' }).click();
  await expect(rate.getByRole('menuitem', { name: 'Edit' })).toHaveAttribute('href', `/dashboards/${uid}/edit?panel=rate`);
  await rate.getByRole('menuitem', { name: 'Explore' }).click();
  await expect(page).toHaveURL(/\/explore\?query=/);
  await expect(page.getByRole('combobox', { name: 'Query' })).toHaveValue(/job=~"payments", instance=~"\(payments-0:9000\|payments-1:9000\)"/);
  await expect(page.getByTestId('chart')).toHaveAttribute('data-drawn', 'true');

  await page.goBack();
  const again = page.getByRole('article', { name: 'Requests of payments' });
  await again.getByRole('button', { name: 'Panel menu' }).click();
  await again.getByRole('menuitem', { name: 'Create alert rule' }).click();
  await expect(page).toHaveURL(/\/alerts\/rules\/new\?query=/);
  await expect(page.getByRole('combobox', { name: 'Query', exact: true })).toHaveValue(/rate\(http_requests_total\{job=~"payments"/);

  expect(problems, 'no script errors in the console').toEqual([]);
});

// plotly.js is bundled with only the trace types Vigil draws: each kind that plotly draws
// must still find its trace (an unregistered one draws nothing, quietly).
test('bars, stacked areas, a heatmap of histogram buckets and a gauge each draw their shapes', async ({ page, playwright, baseURL }) => {
  const kinds = 'e2e-chart-kinds';
  const admin = await apiAs(playwright, baseURL, 'admin@vigil.local');
  if ((await admin.get(`/api/v1/dashboards/${kinds}`)).status() === 404) {
    const rate = 'sum by (job) (rate(http_requests_total[$__rate_interval]))';
    const made = await admin.post('/api/v1/dashboards', {
      data: {
        uid: kinds,
        model: {
          title: 'E2E chart kinds',
          time: { range: '1h' },
          panels: {
            bars: { kind: 'time_series', title: 'As bars', draw: 'bars', queries: [{ expr: rate, legend: '{{job}}' }] },
            stacked: { kind: 'time_series', title: 'Stacked', draw: 'stacked', queries: [{ expr: rate, legend: '{{job}}' }] },
            heat: {
              kind: 'heatmap',
              title: 'Latency buckets',
              queries: [{ expr: 'sum by (le) (rate(http_request_duration_seconds_bucket[$__rate_interval]))', legend: '{{le}}' }],
            },
            gauge: { kind: 'gauge', title: 'Up', unit: 'percentunit', max: 1, queries: [{ expr: 'avg(up)' }] },
          },
          layout: [
            {
              items: [
                { panel: 'bars', x: 0, y: 0, w: 12, h: 8 },
                { panel: 'stacked', x: 12, y: 0, w: 12, h: 8 },
                { panel: 'heat', x: 0, y: 8, w: 12, h: 8 },
                { panel: 'gauge', x: 12, y: 8, w: 12, h: 8 },
              ],
            },
          ],
        },
      },
    });
    expect(made.status(), await made.text()).toBe(201);
  }
  await admin.dispose();

  const problems = watchConsole(page, /status of 401/);
  await logIn(page, 'viewer@vigil.local');
  await page.goto(`/dashboards/${kinds}`);
  const panel = (name: string) => page.getByRole('article', { name });
  for (const name of ['As bars', 'Stacked', 'Latency buckets', 'Up']) {
    await expect(panel(name).getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  }
  // What each trace type leaves in plotly's SVG.
  await expect(panel('As bars').locator('.barlayer .point path').first()).toBeAttached();
  await expect(panel('Stacked').locator('.scatterlayer .js-fill').first()).toBeAttached();
  await expect(panel('Latency buckets').locator('.heatmaplayer image')).toHaveCount(1);
  await expect(panel('Up').locator('.indicatorlayer .angular')).toHaveCount(1);
  await expect(panel('Up').locator('.indicatorlayer')).toContainText('%');
  expect(problems, 'no script errors in the console').toEqual([]);
});

test('a refresh asks a variable for its values again: a job scraped since the page opened is offered', async ({ page, baseURL }) => {
  const fresh = 'e2e-fresh-job';
  await logIn(page, 'editor@vigil.local');
  const made = await page.request.post('/api/v1/dashboards', {
    headers: sameOrigin,
    data: {
      model: {
        title: 'E2E jobs',
        time: { range: '15m' },
        variables: [{ name: 'job', label: 'Job', source: { kind: 'query', query: 'label_values(up, job)' } }],
        panels: { up: { kind: 'stat', title: 'Up in $job', queries: [{ expr: 'max(up{job=~"$job"})' }] } },
        layout: [{ items: [{ panel: 'up', x: 0, y: 0, w: 8, h: 5 }] }],
      },
    },
  });
  expect(made.status(), await made.text()).toBe(201);
  await page.goto(`/dashboards/${(await made.json()).uid}`);
  const job = page.getByLabel('Job', { exact: true });
  await expect(job.locator('option', { hasText: 'checkout' })).toHaveCount(1);
  await expect(job.locator('option', { hasText: fresh })).toHaveCount(0);

  // A new scrape target (Vigil's own /metrics) brings a new job.
  const target = await page.request.post('/api/v1/scrape-targets', {
    headers: sameOrigin,
    data: { job: fresh, url: `${baseURL}/metrics`, interval: '2s', timeout: '1s' },
  });
  expect(target.status(), await target.text()).toBe(201);
  try {
    await expect
      .poll(async () => {
        const answer = await (await page.request.get(`/prometheus/api/v1/label/job/values`)).json();
        return (answer.data as string[]).includes(fresh);
      }, { timeout: 30_000 })
      .toBe(true);
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect(job.locator('option', { hasText: fresh })).toHaveCount(1);
    await job.selectOption(fresh);
    await expect(page.getByRole('article', { name: `Up in ${fresh}` }).locator('.stat-value')).toHaveText('1');
  } finally {
    await page.request.delete(`/api/v1/scrape-targets/${(await target.json()).id}`, { headers: sameOrigin });
  }
});
