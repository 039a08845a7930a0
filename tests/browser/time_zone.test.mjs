// time_zone.test.mjs - the web app shows days and times in the
// installation's zone (MDT_TIME_ZONE, from /me), not UTC and not the
// laptop's: a consent revoked at 9:08 PM New York time yesterday — already
// today in UTC — says "Revoked" with yesterday's New York date.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { TZ, iso, today, wallTime } from '../integration/lib/clock.mjs';
import { launch, newPage, noProblems, openBoard, signIn } from './lib/browser.mjs';

let dbUrl, server, browser, world, caseId;

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.dcf] });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('a revocation late in the evening shows the installation-zone day', async () => {
    const cac = await login(server.url, world.users.cacMember);
    const granted = await cac.post(`/api/v1/cases/${caseId}/consents`, {
        categories: ['identity'],
        agency_id: world.agencies.dcf,
        consented_by: [{ role: 'guardian', name: 'A. Guardian' }],
        purpose: 'coordinate services',
        signed_on: today(-2),
        expires_on: today(30),
    });
    assert.equal(granted.status, 201, granted.text);
    const revoked = await cac.del(`/api/v1/consents/${granted.json.id}`);
    assert.ok(revoked.status < 300, revoked.text);
    // 21:08 in New York yesterday: the UTC date is already today.
    const at = new Date(wallTime(today(-1), '21:08'));
    assert.notEqual(iso(at).slice(0, 10), today(-1), 'the moment is on another UTC day');
    await psql(dbUrl, `UPDATE consents SET revoked_at = '${iso(at)}' WHERE id = ${granted.json.id}`);

    const page = await newPage(browser);
    await signIn(page, server.url, world.users.cacMember);
    await openBoard(page, server.url, caseId);
    const nyDay = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: TZ }).format(at);
    const utcDay = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(at);
    assert.notEqual(nyDay, utcDay);
    await page.getByText(`Revoked ${nyDay}`).waitFor();
    assert.equal(await page.getByText(`Revoked ${utcDay}`).count(), 0);
    noProblems(page);
});
