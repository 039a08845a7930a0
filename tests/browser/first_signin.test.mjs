// first_signin.test.mjs - a new user's first sign-in, as the web app walks
// it: an administrator resets the user's password (a one-time password),
// the user signs in with it, chooses a new password, and — the agency
// requiring MFA — goes straight on to the authenticator set-up, which
// confirms the password just chosen (never the one-time password it
// replaced) and so starts without an error the user did not cause. Then the
// code from the shown key turns MFA on and the app opens.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, login } from '../integration/lib/board_fixtures.mjs';
import { addAgency, addAgencyUser, addUser, DEFAULT_PASSWORD } from '../integration/lib/fixtures.mjs';
import { totp } from '../integration/lib/totp.mjs';
import { launch, newPage, noProblems, shoot } from './lib/browser.mjs';

let dbUrl, server, browser, admin, userId, username;

before(async () => {
    dbUrl = await createDatabase();
    // BOARD_ENV requires MFA of agencies of kind "other".
    const agencyId = await addAgency(dbUrl, { kind: 'other' });
    username = `newcomer${process.pid}`;
    userId = await addUser(dbUrl, { username, agencyId, role: 'member' });
    const a = await addAgencyUser(dbUrl, { kind: 'cac', role: 'admin' });
    server = await startServer({ dbUrl, env: BOARD_ENV });
    admin = await login(server.url, a);
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('first sign-in: one-time password, new password, then MFA set-up with no false error', async () => {
    const reset = await admin.post(`/api/v1/admin/users/${userId}/reset-password`, {});
    assert.equal(reset.status, 200, reset.text);
    const oneTime = reset.json.one_time_password;

    const page = await newPage(browser);
    const refused = []; // answers the person would read as "your password is not right"
    page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/api/v1/me/mfa' && r.status() >= 400) refused.push(r.status());
    });
    await page.goto(`${server.url}/`);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(oneTime);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    const chosen = `${DEFAULT_PASSWORD} anew`;
    await page.getByLabel('One-time password (from your administrator)').fill(oneTime);
    await page.getByLabel('New password', { exact: true }).fill(chosen);
    await page.getByLabel(/again/i).fill(chosen);
    await page.getByRole('button', { name: /change password/i }).click();

    await page.getByRole('heading', { level: 1, name: 'Two-step sign-in is required' }).waitFor();
    // The key is shown at once: the set-up used the new password.
    const key = (await page.locator('#mfa-secret').textContent()).replace(/\s+/g, '');
    assert.match(key, /^[A-Z2-7]{16,}$/);
    assert.deepEqual(refused, [], 'no refused MFA request');
    const shown = await page.locator('.form-error, .field-error').evaluateAll((els) => els.filter((e) => !e.hidden && e.textContent.trim()).map((e) => e.textContent));
    assert.deepEqual(shown, [], 'no error shown');
    await shoot(page, 'first-signin-mfa');

    await page.getByLabel('6-digit code').fill(totp(key));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.getByRole('button', { name: 'Continue to MDT Board' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();
    noProblems(page);
});
