// notifications.test.mjs - "Email and calendar" on the account page, at
// 390 px and by keyboard only: Tab to the email field, type, pick the
// daily summary with the arrow keys, save with Enter; the server has the
// settings. Then make a calendar link with the keyboard: it is shown once
// and serves an iCalendar document; turn it off. A bad address shows the
// server's error on the field. axe-core; screenshots at 390 and 1280 px.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, login } from '../integration/lib/board_fixtures.mjs';
import { axe, fitsWidth, launch, newPage, noProblems, shoot, signIn } from './lib/browser.mjs';

let server, world, browser, page;

// tabTo(page, isTarget) - presses Tab until the focused element satisfies
// isTarget (evaluated in the page), at most 60 times.
async function tabTo(page, isTarget) {
    for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(isTarget)) return;
    }
    assert.fail('the control was not reached with Tab');
}

before(async () => {
    const dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({
        dbUrl,
        env: { ...BOARD_ENV, MDT_SMTP_URL: 'smtp://127.0.0.1:9', MDT_SMTP_FROM: 'mdtboard@example.test', MDT_SMTP_INSECURE_LOOPBACK: '1', MDT_DIGEST_TICK: '0' },
    });
    browser = await launch();
    page = await newPage(browser, { width: 390 });
    await signIn(page, server.url, world.users.cacMember);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('settings by keyboard only at 390 px', async () => {
    await page.goto(`${server.url}/#/account`);
    await page.getByRole('heading', { level: 2, name: 'Email and calendar' }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'My account' }).focus();

    // A bad address: the server's error is shown on the field.
    await tabTo(page, () => document.activeElement?.name === 'email');
    await page.keyboard.type('not-an-address');
    await page.keyboard.press('Tab'); // the summary select
    await page.keyboard.press('ArrowDown'); // Daily
    await tabTo(page, () => document.activeElement?.textContent === 'Save email settings');
    page.expectErrors = true;
    await page.keyboard.press('Enter');
    await page.locator('input[name="email"][aria-invalid="true"]').waitFor();
    page.expectErrors = false;

    await tabTo(page, () => document.activeElement?.name === 'email');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('cac.member@example.test');
    await page.keyboard.press('Enter'); // submits the form from the field
    await page.getByText('Saved. Your daily summary goes to cac.member@example.test.').waitFor();
    const c = await login(server.url, world.users.cacMember);
    const s = (await c.get('/api/v1/me/notification-settings')).json;
    assert.equal(s.email, 'cac.member@example.test');
    assert.equal(s.digest, 'daily');

    // The calendar link, made with the keyboard.
    await tabTo(page, () => document.activeElement?.textContent === 'Make a calendar link');
    await page.keyboard.press('Enter');
    const link = page.locator('input[name="calendar_url"]');
    await link.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'calendar_url', 'focus moves to the new link');
    const url = await link.inputValue();
    assert.match(url, /\/api\/v1\/calendar\/[0-9a-f]{64}\.ics$/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/calendar/);
    await fitsWidth(page, 390);
    await axe(page, 'account, email and calendar');
    await shoot(page, 'account-notifications');
    await page.setViewportSize({ width: 1280, height: 900 });
    await shoot(page, 'account-notifications');
    await page.setViewportSize({ width: 390, height: 900 });

    await tabTo(page, () => document.activeElement?.textContent === 'Turn off the calendar link');
    await page.keyboard.press('Enter');
    await page.getByText('The calendar link is off.').waitFor();
    page.expectErrors = true;
    assert.equal((await fetch(url)).status, 404);
    noProblems(page);
});
