// Logging in, the role-aware shell, and the admin pages, driven like a person would.
import { expect, test } from '@playwright/test';
import { demoPassword, logIn, logOut } from './helpers';

test('an admin sees the shell with Admin, creates a viewer, and the viewer sees no Admin', async ({ page }) => {
  await logIn(page, 'admin@vigil.local');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const area of ['Dashboards', 'Explore', 'Alerts', 'Incidents', 'On-call', 'SLOs', 'Reports', 'Traces', 'Admin']) {
    await expect(nav.getByRole('link', { name: area, exact: true })).toBeVisible();
  }
  // Admins land on their role's home dashboard (the demo sets Platform overview).
  await expect(page.getByRole('heading', { level: 1, name: 'Platform overview' })).toBeVisible();

  await nav.getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Email').fill('new.viewer@example.com');
  await form.getByLabel('Display name').fill('New Viewer');
  await form.getByLabel('Password').fill('viewer password 1');
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByText('Created new.viewer@example.com (viewer).')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Users' }).getByRole('cell', { name: 'new.viewer@example.com' })).toBeVisible();

  await logOut(page);

  await logIn(page, 'new.viewer@example.com', 'viewer password 1');
  // A new viewer lands on the viewer role's home dashboard.
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await expect(nav.getByRole('link', { name: 'Incidents' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Admin' })).toHaveCount(0);

  // Typing the address does not help either: the page refuses, and so does the server.
  await page.goto('/admin/users');
  await expect(page.getByText('This area needs the admin role.')).toBeVisible();
  const response = await page.request.get('/api/v1/users');
  expect(response.status()).toBe(403);
});

test('a wrong password shows an inline error and keeps the email', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByLabel('Email')).toBeFocused();
  await page.getByLabel('Email').fill('admin@vigil.local');
  await page.getByLabel('Password').fill('not the password');
  // Enter submits.
  await page.getByLabel('Password').press('Enter');
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password.');
  await expect(page.getByLabel('Email')).toHaveValue('admin@vigil.local');
  await expect(page.getByLabel('Password')).toBeFocused();
  await expect(page).toHaveURL(/\/login/);
});

test('an address opened while logged out comes back after logging in', async ({ page }) => {
  await page.goto('/admin/api-keys');
  await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fapi-keys/);
  await page.getByLabel('Email').fill('admin@vigil.local');
  await page.getByLabel('Password').fill(demoPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/admin\/api-keys$/);
  await expect(page.getByRole('heading', { name: 'New API key' })).toBeVisible();
});

test('a session ended elsewhere sends the user back to the login page', async ({ page }) => {
  await logIn(page, 'editor@vigil.local');
  // Ending the session behind the page's back, as an expiry or an admin would.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboards' }).click();
  // The list must have been answered first: a list still asking when the cookies go would
  // itself find the session gone, and the page would leave before the click below.
  await expect(page.getByRole('link', { name: 'Platform overview' })).toBeVisible();
  await page.context().clearCookies();
  // The home page asks the server for its status and learns the session is gone.
  await page.getByRole('link', { name: 'Vigil' }).first().click();
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
});

test('an admin creates an API key and sees its secret once', async ({ page }) => {
  await logIn(page, 'admin@vigil.local');
  await page.goto('/admin/api-keys');
  const form = page.getByRole('form', { name: 'New API key' });
  await form.getByLabel('Name').fill('grafana');
  await form.getByLabel(/ingest/).uncheck();
  await form.getByLabel(/read/).check();
  await form.getByRole('button', { name: 'Create key' }).click();
  const secret = page.getByTestId('api-key-secret');
  await expect(secret).toHaveText(/^vgl_/);
  const key = (await secret.textContent())!;

  // The key works as a bearer token for its scope.
  const response = await page.request.get('/api/v1/status/buildinfo', { headers: { Authorization: `Bearer ${key}` } });
  expect(response.status()).toBe(200);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(secret).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'API keys' }).getByRole('cell', { name: 'grafana' })).toBeVisible();

  // A bad form keeps what was typed and names the problem beside the field.
  await form.getByLabel(/read/).uncheck();
  await form.getByLabel('Name').fill('no scopes');
  await form.getByRole('button', { name: 'Create key' }).click();
  await expect(form.getByText('choose at least one scope')).toBeVisible();
  await expect(form.getByLabel('Name')).toHaveValue('no scopes');
});

test('the theme switches between light and dark and is remembered', async ({ page }) => {
  await logIn(page, 'viewer@vigil.local');
  const html = page.locator('html');
  const before = await html.getAttribute('data-theme');
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: /theme/ }).click();
  const after = before === 'dark' ? 'light' : 'dark';
  await expect(html).toHaveAttribute('data-theme', after);
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', after);
});

test('an admin changes a role and disables a user from the table; a taken email is named beside the field', async ({ page }) => {
  await logIn(page, 'admin@vigil.local');
  await page.goto('/admin/users');
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Email').fill('on.call@example.com');
  await form.getByLabel('Password').fill('on call password');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByText('Created on.call@example.com (viewer).')).toBeVisible();

  const row = page.getByRole('row').filter({ hasText: 'on.call@example.com' });
  await row.getByLabel('Role of on.call@example.com').selectOption('responder');
  await expect(page.getByText('on.call@example.com is now responder.')).toBeVisible();
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByText('on.call@example.com is disabled.')).toBeVisible();
  await expect(row.getByText('disabled', { exact: true })).toBeVisible();

  // The server refuses a second account with that email; the form says so beside the field
  // and keeps what was typed.
  await form.getByLabel('Email').fill('ON.CALL@example.com');
  await form.getByLabel('Password').fill('another password');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByText('A user with this email already exists.')).toBeVisible();
  await expect(form.getByLabel('Email')).toHaveValue('ON.CALL@example.com');
  await expect(form.getByLabel('Password')).toHaveValue('another password');

  // The disabled user cannot log in.
  await logOut(page);
  await page.getByLabel('Email').fill('on.call@example.com');
  await page.getByLabel('Password').fill('on call password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('disabled');
});
