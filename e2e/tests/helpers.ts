import { expect, type Page } from '@playwright/test';
import { demoPassword, serverOrigin } from '../playwright.config';

export { demoPassword };

/**
 * Headers for API calls made outside the page with its session cookie: Vigil refuses
 * cookie-authenticated changes that do not come from its own origin, and a browser's own
 * requests always say where they come from.
 */
export const sameOrigin = { Origin: serverOrigin };

/** Logs in through the form, the way a person does. */
export async function logIn(page: Page, email: string, password = demoPassword) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

/**
 * Collects script errors and console errors, to fail a test on; the browser's own logs of
 * the answers matching `expected` (4xx by default, which the pages show) are left out.
 */
export function watchConsole(page: Page, expected: RegExp = /status of 4\d\d/): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected.test(message.text())) problems.push(message.text());
  });
  return problems;
}

export async function logOut(page: Page) {
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
}
