// notifications.test.mjs - the inbox in a real browser: an assignment made
// by another user (on another screen) lights the assignee's bell live and
// is announced politely; the inbox page lists it with a link to the case;
// mark one read, mark all read; the composer tells the author that an
// @mention of a user of an agency that may not see the entry notified
// nobody. Screenshots at 1280 and 390 px (tests/artifacts/), axe on the
// inbox page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { atWidths, axe, fitsWidth, launch, newPage, noProblems, openBoard, shoot, signIn } from './lib/browser.mjs';

let dbUrl;
let world;
let server;
let browser;
let caseId;
let dcf; // the assignee's page
let cac; // the author's page

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.dcf, world.agencies.police], alias: 'Willow' });
    browser = await launch();
    dcf = await newPage(browser);
    cac = await newPage(browser);
    await signIn(dcf, server.url, world.users.dcfMember);
    await signIn(cac, server.url, world.users.cacMember);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

const badge = (page) => page.locator('#bell-badge');

async function assign(title) {
    const sup = await login(server.url, world.users.cacSupervisor);
    const res = await sup.post(`/api/v1/cases/${caseId}/actions`, {
        title,
        assignee_agency_id: world.agencies.dcf,
        assignee_id: world.users.dcfMember.userId,
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

test('an assignment by another user lights the bell live and is announced', async () => {
    await dcf.locator('#conn-state.is-online').waitFor();
    assert.equal(await badge(dcf).isHidden(), true, 'no badge while nothing is unread');
    assert.equal(await dcf.locator('#bell').getAttribute('aria-label'), 'Notifications, none unread');
    await assign('Arrange a safe placement visit');
    await badge(dcf).filter({ hasText: '1' }).waitFor();
    assert.equal(await dcf.locator('#bell').getAttribute('aria-label'), 'Notifications, 1 unread');
    await dcf.locator('#live-region', { hasText: /New notification: .*Arrange a safe placement visit/ }).waitFor({ state: 'attached' });
    await assign('Call the school counselor');
    await badge(dcf).filter({ hasText: '2' }).waitFor();
    noProblems(dcf);
});

test('the inbox lists them with links; mark one read, then all', async () => {
    await dcf.locator('#bell').click();
    await dcf.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    const items = dcf.locator('.notification-list > li.notification');
    await items.first().waitFor();
    assert.equal(await items.count(), 2);
    assert.equal(await dcf.locator('.notification.is-unread').count(), 2);
    const first = items.first();
    assert.match(await first.textContent(), /Call the school counselor/);
    assert.equal(await first.getByRole('link').getAttribute('href'), `#/cases/${caseId}`);
    assert.equal(await dcf.getByRole('button', { name: 'Show older' }).isHidden(), true, 'one page holds them all');
    await atWidths(dcf, [1280, 390], (w) => shoot(dcf, `notifications-inbox-${w === 1280 ? 'wide' : 'narrow'}`));
    await axe(dcf, 'the inbox');
    await fitsWidth(dcf, 390);

    // a new one arrives while the page is open: it is listed at the top
    await assign('Share the medical exam results');
    await dcf.locator('.notification-list > li.notification', { hasText: 'Share the medical exam results' }).waitFor();
    await badge(dcf).filter({ hasText: '3' }).waitFor();

    await first.getByRole('button', { name: /Mark read/ }).click();
    await badge(dcf).filter({ hasText: '2' }).waitFor();
    await dcf.getByRole('button', { name: 'Mark all read' }).click();
    await dcf.locator('.notification.is-unread').first().waitFor({ state: 'detached' });
    assert.equal(await badge(dcf).isHidden(), true);
    assert.equal(await dcf.locator('#bell').getAttribute('aria-label'), 'Notifications, none unread');
    await dcf.locator('#mark-all-read:disabled').waitFor(); // nothing left to mark
    await atWidths(dcf, [1280, 390], (w) => shoot(dcf, `notifications-read-${w === 1280 ? 'wide' : 'narrow'}`));
    noProblems(dcf);
});

test('the composer says an @mention of a user who may not see the entry notified nobody', async () => {
    await openBoard(cac, server.url, caseId);
    const police = world.users.policeMember.username;
    const mate = world.users.dcfMember.username;
    const composer = cac.locator('form.composer');
    await composer.getByLabel('Text').fill(`Please review, @${police} and @${mate}.`);
    // only CAC and DCF may see it
    await composer.getByRole('radio', { name: 'My agency and the agencies I tick' }).check();
    await composer.getByRole('checkbox', { name: /^dcf / }).check();
    await composer.getByRole('button', { name: 'Post to the timeline' }).click();
    const note = composer.locator('.mention-note');
    await note.waitFor();
    assert.match(await note.textContent(), /Mentioned but not notified/);
    assert.match(await note.textContent(), new RegExp(`@${police.toLowerCase()} may not see this entry, so was not notified`));
    assert.match(await note.textContent(), /Notified: /);
    await atWidths(cac, [1280, 390], (w) => shoot(cac, `notifications-mention-${w === 1280 ? 'wide' : 'narrow'}`));
    // the police member got nothing; the DCF member did
    const policeClient = await login(server.url, world.users.policeMember);
    const pol = await policeClient.get('/api/v1/notifications');
    assert.equal(pol.json.items.filter((n) => n.kind === 'entry.mention').length, 0);
    await badge(dcf).filter({ hasText: '1' }).waitFor();
    noProblems(cac);
});
