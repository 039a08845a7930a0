// app.test.mjs - the web app on the demo installation: sign-in, the case
// list, a board, posting Markdown with the server's preview, the dashboard,
// administration, MFA enrolment, sign-out; axe-core on every main screen;
// screenshots at 1280 and 390 px into tests/artifacts/.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, api, cliEnv, createDatabase, startServer } from '../integration/lib/harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from '../integration/lib/fixtures.mjs';
import { totp } from '../integration/lib/totp.mjs';
import { atWidths, axe, fitsWidth, launch, newPage, noProblems, shoot, signIn } from './lib/browser.mjs';
import { today } from '../integration/lib/clock.mjs';

const run = promisify(execFile);
const demo = (u) => ({ username: u, password: `${u}-demo-pw` });

let server;
let browser;
let dbUrl;

before(async () => {
    dbUrl = await createDatabase();
    await run(BIN, ['demo'], { env: cliEnv(dbUrl) });
    // No demo agency has kind "other": plain password sign-in for all of
    // them, and an "other" agency below to exercise MFA enrolment.
    server = await startServer({ dbUrl, env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000 } });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

async function caseIdByNumber(user, number) {
    const c = api(server.url);
    await c.post('/api/v1/login', user);
    const res = await c.get(`/api/v1/cases?q=${encodeURIComponent(number)}`);
    return res.json.items.find((x) => x.case_number === number).id;
}

test('the sign-in page is accessible and refuses a wrong password plainly', async () => {
    const page = await newPage(browser);
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to MDT Board' }).waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'sign-in');
        await shoot(page, 'signin');
    });
    page.expectErrors = true; // the refused sign-in is a 401
    await page.getByLabel('User name').fill('cac.supervisor');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
    noProblems(page);
    await page.context().close();
});

test('case list: counts, search, status filter; board; Markdown note with server preview', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, demo('cac.supervisor'));
    const rows = page.locator('.case-list tbody tr');
    // the heading comes first, the list when its request is answered
    await page.locator('.summary', { hasText: 'open action item' }).waitFor();
    assert.ok((await rows.count()) >= 10, 'the demo cases are listed');
    assert.match(await page.locator('.summary').textContent(), /\d+ overdue/);
    assert.ok((await page.locator('.case-list .badge.overdue').count()) > 0, 'overdue counts are highlighted');
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'case list');
        await shoot(page, 'cases');
    });
    await fitsWidth(page, 360);

    // Search matches number or alias; the status filter narrows. A search
    // is done when its query is in the URL and the list shows its result.
    const searched = (q) =>
        page.waitForFunction(
            (want) =>
                new URLSearchParams(location.hash.split('?')[1] ?? '').get('q') === want &&
                document.querySelectorAll('.case-list tbody tr').length === 1 &&
                document.querySelector('.case-list tbody tr').textContent.includes(want),
            q,
        );
    await page.getByLabel('Case number or alias').fill('Heron');
    await searched('Heron');
    assert.match(await rows.first().textContent(), /HCAC-2026-014/);
    await page.getByLabel('Case number or alias').fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('closed');
    await page.waitForFunction(() => [...document.querySelectorAll('.case-list tbody tr')].every((r) => /Closed/.test(r.textContent)));

    // Open the board.
    await page.getByLabel('Status', { exact: true }).selectOption('');
    // The board is opened while a search typed on the list is still
    // pending (its 350 ms debounce): the search must not follow the user
    // into the board (the URL is checked before the reload below).
    await page.getByRole('link', { name: /HCAC-2026-014/ }).waitFor();
    await page.getByLabel('Case number or alias').fill('Heron');
    await page.getByRole('link', { name: /HCAC-2026-014/ }).click();
    await page.getByRole('heading', { level: 1, name: /HCAC-2026-014/ }).waitFor();
    await page.locator('#conn-state.is-online').waitFor();
    for (const name of ['Timeline', 'Action items', 'Protected details', 'Services', 'Tracking', 'Case details']) {
        await page.getByRole('heading', { level: 2, name }).waitFor();
    }
    // Every entry states who can see it; the restricted demo entry names its agencies.
    const entries = page.locator('.timeline > li');
    assert.equal(await entries.locator('.vis-badge').count(), await entries.count());
    await page.locator('.timeline .vis-restricted', { hasText: 'only' }).first().waitFor();
    // Protected details: the owner is told who else sees each category; a
    // category of another owner that is not shared says so.
    await page.locator('#sec-pii .share-line', { hasText: 'Not shared: only Harborview Child Advocacy Center sees these details.' }).first().waitFor();
    await page.locator('#sec-pii .pii-hidden', { hasText: 'Not shared with your agency' }).first().waitFor();

    // Compose with Markdown; preview comes from the server.
    const md = 'Call with the **guidance office**:\n\n- attendance improving\n- [district policy](https://example.org/policy)\n\n<script>alert(1)</script>\n\nknown only as <Beto>';
    await page.getByLabel('Text', { exact: true }).fill(md);
    await page.getByRole('button', { name: 'Show preview' }).click();
    await page.locator('.composer .preview strong', { hasText: 'guidance office' }).waitFor();
    assert.equal(await page.locator('.composer .preview script').count(), 0, 'raw HTML never becomes markup');
    // ... and is shown as the text that was typed, not dropped.
    await page.locator('.composer .preview p', { hasText: 'known only as <Beto>' }).waitFor();
    await page.locator('.composer .preview p', { hasText: '<script>alert(1)</script>' }).waitFor();
    // The visibility picker says plainly who will see it.
    const composer = page.locator('.composer');
    await composer.getByRole('radio', { name: /Only my agency/ }).check();
    assert.match(await composer.locator('.vis-statement').textContent(), /Will be visible to: Harborview Child Advocacy Center only\. Not visible to:/);
    await composer.getByRole('radio', { name: /All agencies on this case/ }).check();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'board');
        await shoot(page, 'board');
    });
    await fitsWidth(page, 360);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    const posted = page.locator('.timeline > li', { hasText: 'guidance office' });
    await posted.locator('strong', { hasText: 'guidance office' }).waitFor();
    await posted.locator('a[href="https://example.org/policy"]').waitFor();
    assert.equal(await posted.locator('li').count(), 2, 'the list is rendered');
    assert.match(await posted.locator('.vis-badge').textContent(), /Visible to: all agencies on this case/);
    assert.match(await posted.locator('.entry-title').textContent(), /Morgan Ellery \(demo\).*Harborview Child Advocacy Center/);
    assert.equal(await page.locator('.timeline > li', { hasText: 'guidance office' }).count(), 1, 'shown once (REST answer and live event merge)');

    // Edit it: a new version; the history shows both.
    await posted.getByRole('button', { name: 'Edit' }).click();
    await posted.getByLabel('Text', { exact: true }).fill('Call with the **guidance office**: attendance improving.');
    await posted.getByRole('button', { name: 'Save changes' }).click();
    const edited = page.locator('.timeline > li', { hasText: 'attendance improving.' });
    await edited.locator('.edited', { hasText: 'version 2' }).waitFor();
    await edited.getByRole('button', { name: 'Show edit history' }).click();
    await edited.locator('.history > li').nth(1).waitFor();
    assert.equal(await edited.locator('.history > li').count(), 2);

    // Keyboard only: the skip link comes first; the composer posts with Ctrl+Enter.
    // The reload shows this board again (not the list: a search typed on the
    // list must not rewrite the URL after the board opened), ready and live.
    assert.match(page.url(), /#\/cases\/\d+$/);
    await page.reload();
    await page.locator('#sec-timeline-title').waitFor();
    await page.locator('#conn-state.is-online').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    await page.getByLabel('Text', { exact: true }).first().focus();
    await page.keyboard.type('Typed with the keyboard only.');
    await page.keyboard.press('Control+Enter');
    await page.locator('.timeline > li', { hasText: 'Typed with the keyboard only.' }).waitFor();
    noProblems(page);
    await page.context().close();
});

test('action items: create, overdue highlighting, status; dashboard when the server has it', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, demo('cac.supervisor'));
    const id = await caseIdByNumber(demo('cac.supervisor'), 'HCAC-2026-014');
    await page.goto(`${server.url}/#/cases/${id}`);
    await page.locator('#conn-state.is-online').waitFor();
    await page.locator('#sec-actions .action.is-overdue .badge.overdue').first().waitFor();
    await page.locator('#sec-actions summary', { hasText: 'New action item' }).click();
    const form = page.locator('#sec-actions form').last();
    await form.getByLabel('What needs to be done').fill('Schedule the follow-up interview');
    await form.getByLabel('Agency responsible').selectOption({ label: 'Harborview Child Advocacy Center' });
    await form.getByLabel('Person').selectOption({ label: 'Robin Castellan (demo)' });
    await form.getByLabel('Due date (optional)').fill(today(-30));
    await form.getByRole('button', { name: 'Add action item' }).click();
    const item = page.locator('#sec-actions .action', { hasText: 'Schedule the follow-up interview' });
    await item.locator('.badge.overdue').waitFor();
    assert.match(await item.textContent(), /Robin Castellan \(demo\) · Harborview Child Advocacy Center/);
    await item.getByLabel('Status', { exact: true }).selectOption('done');
    await item.getByRole('button', { name: 'Save status' }).click();
    await page.locator('#sec-actions .closed .action', { hasText: 'Schedule the follow-up interview' }).waitFor({ state: 'attached' });

    // The dashboard: shown in the navigation only when GET /api/v1/actions answers.
    const probe = await page.evaluate(async () => (await fetch('/api/v1/actions?limit=1')).status);
    const nav = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Action items' });
    if (probe === 200) {
        await nav.click();
        await page.getByRole('heading', { level: 1, name: 'Action items' }).waitFor();
        // the CAC coordinator's default view (its items and the cases it leads) is not empty
        await page.locator('.dash-list tbody tr').first().waitFor();
        assert.equal(await page.getByLabel('Show', { exact: true }).inputValue(), 'supervisor');
        await page.getByLabel('Show', { exact: true }).selectOption('all');
        await page.locator('.dash-list tr.has-overdue').first().waitFor();
        assert.match(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'), /^\/api\/v1\/actions\.csv/);
        await atWidths(page, [1280, 390], async () => {
            await axe(page, 'dashboard');
            await shoot(page, 'dashboard');
        });
    } else {
        assert.equal(await nav.count(), 0, 'no dashboard link when the endpoint is missing');
    }
    noProblems(page);
    await page.context().close();
});

test('protected details and consents as other agencies see them', async () => {
    const id = await caseIdByNumber(demo('cac.supervisor'), 'HCAC-2026-014');
    // The advocates: no category shared with them; the restricted demo
    // update (State's Attorney, CAC, police) is not for them either.
    const page = await newPage(browser, { width: 390 });
    await signIn(page, server.url, demo('advocate'));
    await page.goto(`${server.url}/#/cases/${id}`);
    await page.locator('#conn-state.is-online').waitFor();
    await page.locator('#sec-pii .pii-hidden', { hasText: 'Not shared with your agency' }).first().waitFor();
    assert.equal(await page.locator('.timeline > li', { hasText: 'payroll records before deciding' }).count(), 0);
    // Consents are listed for every member, names only for those who see identity.
    await page.locator('.consent', { hasText: 'Stamford Police Department may see Immigration' }).waitFor();
    noProblems(page);
    await page.context().close();

    // Legal aid owns immigration on this case and shared it with the police.
    const legal = await newPage(browser);
    await signIn(legal, server.url, demo('legalaid.attorney'));
    await legal.goto(`${server.url}/#/cases/${id}`);
    await legal.locator('#conn-state.is-online').waitFor();
    const imm = legal.locator('.pii-cat', { hasText: 'Immigration' });
    assert.match(await imm.locator('.share-line').textContent(), /^Shared with Stamford Police Department until [A-Z][a-z]{2} \d{1,2}, \d{4}\.$/);
    await imm.getByRole('button', { name: 'Edit immigration details' }).waitFor();
    await legal.locator('.consent.is-active').getByRole('button', { name: 'Revoke consent' }).waitFor();
    noProblems(legal);
    await legal.context().close();
});

test('administration: users, agencies and the audit log', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, demo('demo.admin'));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration: Users' }).waitFor();
    await page.locator('table tbody tr').nth(5).waitFor();
    // Create a user.
    const form = page.getByRole('form', { name: 'Create a user' });
    await form.getByLabel('User name', { exact: true }).fill('new.advocate');
    await form.getByLabel('Full name').fill('Casey Newman');
    await form.getByLabel('Agency', { exact: true }).selectOption({ label: 'Safe Harbor Victim Advocates' });
    await form.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
    await form.getByLabel('Initial password').fill('a long enough password');
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.locator('table tbody tr', { hasText: 'new.advocate' }).waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'admin users');
        await shoot(page, 'admin-users');
    });
    // Deactivate it.
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Deactivate Casey Newman' }).click();
    await page.locator('table tbody tr', { hasText: 'new.advocate' }).filter({ hasText: 'Inactive' }).waitFor();

    await page.getByRole('link', { name: 'Agencies' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration: Agencies' }).waitFor();
    await page.locator('table tbody tr', { hasText: 'Stamford Police Department' }).waitFor();

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration: Audit log' }).waitFor();
    await page.locator('table.audit tbody tr', { hasText: 'user.deactivate' }).first().waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'audit log');
        await shoot(page, 'admin-audit');
    });
    noProblems(page);
    await page.context().close();
});

test('MFA: a user whose agency requires it enrols (secret, otpauth URI, QR) and then needs a code', async () => {
    const agencyId = await addAgency(dbUrl, { name: 'Interpreter Services Co-op', kind: 'other' });
    await addUser(dbUrl, { username: 'interp.lead', displayName: 'Alex Interp', agencyId, role: 'member' });
    const who = { username: 'interp.lead', password: DEFAULT_PASSWORD };
    const page = await newPage(browser);
    await signIn(page, server.url, who, { expectCases: false });
    await page.getByRole('heading', { name: 'Two-step sign-in is required' }).waitFor();
    const secret = (await page.locator('#mfa-secret').textContent()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    assert.match(await page.locator('#mfa-uri').textContent(), /^otpauth:\/\/totp\//);
    await page.locator('svg.qr-svg').waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'MFA enrolment');
        await shoot(page, 'mfa-enrol');
    });
    await page.getByLabel('6-digit code').fill(totp(secret));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.getByRole('button', { name: 'Continue to MDT Board' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();

    // Sign out; signing in again asks for a code (a different step than the one used).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('.notice', { hasText: 'You have signed out.' }).waitFor();
    page.expectErrors = true; // the first answer is 401 mfa_required
    await page.getByLabel('User name').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('6-digit code from your authenticator app').fill(totp(secret, { time: Date.now() / 1000 + 30 }));
    await page.getByRole('button', { name: 'Verify code' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();
    noProblems(page);
    await page.context().close();
});

test('a one-time password from an administrator must be replaced at sign-in', async () => {
    const admin = api(server.url);
    await admin.post('/api/v1/login', demo('demo.admin'));
    const users = await admin.get('/api/v1/admin/users?limit=100');
    const target = users.json.items.find((u) => u.username === 'coastal.therapist');
    const reset = await admin.post(`/api/v1/admin/users/${target.id}/reset-password`, {});
    assert.equal(reset.status, 200, reset.text);
    const page = await newPage(browser, { width: 390 });
    await signIn(page, server.url, { username: 'coastal.therapist', password: reset.json.one_time_password }, { expectCases: false });
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false, 'nothing else is offered before the change');
    await page.getByLabel('One-time password (from your administrator)').fill(reset.json.one_time_password);
    await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await page.getByLabel('New password again').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();
    noProblems(page);
    await page.context().close();
});
