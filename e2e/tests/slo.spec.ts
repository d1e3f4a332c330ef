// SLOs and SLA reports: a viewer reads last month's report on the page and downloads it as PDF
// and CSV — the files carry the same SLOs and figures as the page — and an editor defines an
// SLO in the form, previewing it over the last 30 days with the PromQL the server will run,
// before saving it.
import { expect, test, type Download, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { logIn } from './helpers';

/** Rows of a CSV file (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

/** Clicks a download link and waits for the file. */
async function download(page: Page, name: string): Promise<{ download: Download; path: string }> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('group', { name: 'Download' }).getByRole('link', { name, exact: true }).click(),
  ]);
  const path = await file.path();
  expect(path).toBeTruthy();
  return { download: file, path: path! };
}

/** How many decimals a figure is written with. */
const decimals = (text: string) => (text.split('.')[1] ?? '').replace(/\D.*$/, '').length;

test('a viewer reads last month\'s SLA report and downloads it as PDF and CSV with the same figures', async ({ page }) => {
  await logIn(page, 'viewer@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'SLA reports' })).toBeVisible();

  await page.getByLabel('Period').selectOption({ label: 'Last month' });
  await expect(page).toHaveURL(/[?&]period=last-month(&|$)/);

  // The report shown is the one the download links ask for (not the previous period's).
  const pdfLink = page.getByRole('group', { name: 'Download' }).getByRole('link', { name: 'PDF', exact: true });
  const href = await pdfLink.getAttribute('href');
  const asked = new URL(href!, 'http://vigil.test').searchParams;
  expect(asked.get('format')).toBe('pdf');
  const report = page.getByTestId('report');
  await expect(report).toHaveAttribute('data-from', asked.get('from')!);
  await expect(report).toHaveAttribute('data-to', asked.get('to')!);
  await expect(page.getByTestId('report-summary')).toContainText(/\d+ SLOs?: \d+ met, \d+ breached, \d+ without data/);

  // The demo's SLOs, with what each achieved as the page shows it.
  const rows = page.getByRole('table', { name: 'SLOs in the report' }).locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  const shown: { name: string; achieved: string }[] = [];
  for (const row of await rows.all()) {
    shown.push({
      name: (await row.locator('td').first().innerText()).trim(),
      achieved: (await row.getByTestId('achieved').innerText()).trim(),
    });
  }
  expect(shown.length).toBeGreaterThan(0);

  // A viewer is offered the report, not its schedules.
  await expect(page.getByRole('heading', { name: 'Scheduled reports' })).toHaveCount(0);

  // CSV: a header row, then one row per SLO with the achieved figure the page shows.
  const csvFile = await download(page, 'CSV');
  expect(csvFile.download.suggestedFilename()).toMatch(/^vigil-sla-.+\.csv$/);
  const [header, ...records] = parseCsv(fs.readFileSync(csvFile.path, 'utf8'));
  const nameColumn = header.findIndex((h) => /^(slo|name|slo[ _]?name)$/i.test(h.trim()));
  const achievedColumn = header.findIndex((h) => /achieved/i.test(h));
  expect(nameColumn, `a name column in ${header.join(',')}`).toBeGreaterThanOrEqual(0);
  expect(achievedColumn, `an achieved column in ${header.join(',')}`).toBeGreaterThanOrEqual(0);
  expect(records).toHaveLength(shown.length);
  for (const { name, achieved } of shown) {
    const record = records.find((r) => r[nameColumn].trim() === name);
    expect(record, `a CSV row for ${name}`).toBeDefined();
    const inCsv = record![achievedColumn].trim();
    if (achieved === '—') {
      // Nothing counted: no figure in the file either.
      expect(Number.isNaN(parseFloat(inCsv)), `${name}: ${inCsv}`).toBe(true);
    } else {
      // The same figure, to the precision the coarser of the two is written with (the page
      // cuts to three decimals rather than rounding).
      const onPage = parseFloat(achieved);
      const unit = 10 ** -Math.min(decimals(achieved), decimals(inCsv));
      expect(Math.abs(parseFloat(inCsv) - onPage), `${name}: page ${achieved}, CSV ${inCsv}`).toBeLessThan(unit + 1e-9);
    }
  }

  // PDF: a real PDF whose text names every SLO.
  const pdfFile = await download(page, 'PDF');
  expect(pdfFile.download.suggestedFilename()).toMatch(/^vigil-sla-.+\.pdf$/);
  const pdf = fs.readFileSync(pdfFile.path);
  expect(pdf.subarray(0, 4).toString('latin1')).toBe('%PDF');
  const text = execFileSync('pdftotext', [pdfFile.path, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  for (const { name } of shown) {
    expect(text).toContain(name.replace(/\s+/g, ' '));
  }
});

test('an editor defines an SLO, previews it over the last 30 days with its PromQL, and saves it', async ({ page }) => {
  const name = `Checkout availability ${Date.now()}`;
  await logIn(page, 'editor@vigil.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SLOs', exact: true }).click();
  await expect(page).toHaveURL(/\/slos$/);
  await page.getByRole('link', { name: 'New SLO' }).click();
  await expect(page).toHaveURL(/\/slos\/new$/);

  const form = page.getByRole('form', { name: 'SLO' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Service', { exact: true }).fill('checkout');
  await form.getByRole('radio', { name: 'Events ratio' }).check();
  await form.getByRole('radio', { name: 'bad events' }).check();
  // The demo's checkout service fails a third of its requests with 500 for 6 minutes an hour.
  await form.getByRole('combobox', { name: 'Bad events selector' }).fill('http_requests_total{job="checkout", status="500"}');
  await form.getByRole('combobox', { name: 'Total events selector' }).fill('http_requests_total{job="checkout"}');
  await form.getByLabel('Objective (%)').fill('99.5');
  await form.getByLabel('Window', { exact: true }).selectOption('7d');

  // The preview draws the SLI against the objective and the budget, and shows the PromQL.
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  const preview = form.getByRole('region', { name: 'Preview' });
  await expect(preview.getByTestId('preview-summary')).toContainText(/^Over the last 30 days: SLI \d+\.\d{3} % against 99\.5 %/);
  const sliChart = preview.getByTestId('chart').first();
  await expect(sliChart).toHaveAttribute('data-drawn', 'true');
  await expect(sliChart.locator('.legend')).toContainText('objective 99.5 %');
  await expect(preview.getByTestId('chart').nth(1)).toHaveAttribute('data-drawn', 'true');
  const queries = preview.getByTestId('slo-queries');
  await expect(queries).toContainText('http_requests_total');
  await expect(queries).toContainText('status="500"');
  await expect(page.getByText('Unsaved changes')).toBeVisible();

  await form.getByRole('button', { name: 'Save SLO' }).click();
  await expect(page).toHaveURL(/\/slos\/\d+$/);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByTestId('slo-sli')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Report for this SLO' })).toHaveAttribute('href', /^\/reports\?slos=\d+$/);

  // Listed with the others.
  await page.getByRole('navigation', { name: 'SLOs' }).getByRole('link', { name: 'SLOs', exact: true }).click();
  const row = page.getByRole('table', { name: 'SLOs', exact: true }).getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('99.5 %');
  await expect(row).toContainText('rolling 7d');
  await expect(row.getByRole('meter', { name: 'Error budget remaining' })).toBeVisible();
});
