// Browser tests against the real `vigil` binary and built frontend, in Debian's chromium.
// The server runs in demo mode on a fresh embedded database in target/, like a newcomer's.
import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const port = Number(process.env.VIGIL_E2E_PORT ?? 18480);
const vigil = process.env.VIGIL_BIN ?? path.join(root, 'target/debug/vigil');
const dataDir = path.join(root, 'target', `e2e-data-${Date.now()}`);
export const demoPassword = 'e2e demo password';
/** Where the server under test answers; API calls made with its session cookie name it as their Origin. */
export const serverOrigin = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One server, shared state: tests run one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  outputDir: path.join(root, 'target', 'e2e-results'),
  use: {
    baseURL: serverOrigin,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `"${vigil}" serve --demo --listen 127.0.0.1:${port} --web-dir "${path.join(root, 'frontend/dist')}"`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 180_000,
    // SIGTERM lets Vigil stop its embedded PostgreSQL cleanly.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    env: {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_DEMO_PASSWORD: demoPassword,
      VIGIL_LOG_FORMAT: 'json',
      DATABASE_URL: '',
      RUST_LOG: 'warn',
      // The tests' webhook receivers listen on loopback, which Vigil refuses by default.
      VIGIL_OUTBOUND_ALLOW: '127.0.0.0/8',
    },
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
