// retention.test.mjs - the legal hold and the purge on the board
// (docs/retention.md): the lead agency's supervisor places a legal hold
// from the board; the badge "Legal hold" with who and when shows on the
// supervisor's board and, live, on a police member's; then the hold is
// lifted, the case closed (its closing time moved 100 days back from now)
// and `mdtboard retention run` purges it: the member's open board is left
// for the notice "This case was purged under the retention policy on
// DATE", and opening the board again shows the same notice (the 410
// tombstone). Screenshots go to tests/artifacts/retention-*.png.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, cliEnv, createDatabase, freePort, ownerUrl, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { DAY_MS } from '../integration/lib/clock.mjs';
import { axe, launch, newPage, noProblems, openBoard, shoot, signIn } from './lib/browser.mjs';

const run = promisify(execFile);

let server, dbUrl, world, browser, lead, member, caseId;

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, port: await freePort(), env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police], alias: 'Rowan' });
    browser = await launch();
    lead = await newPage(browser);
    member = await newPage(browser, { width: 390, height: 800 });
    await signIn(lead, server.url, world.users.cacSupervisor);
    await signIn(member, server.url, world.users.policeMember);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

// The installation-zone day of now, as the board writes it ("Dec 6, 2026").
const todayShown = () => new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'America/New_York' }).format(new Date());

test('the lead supervisor places a legal hold: the badge shows with who and when, live on another board', async () => {
    await openBoard(lead, server.url, caseId);
    await openBoard(member, server.url, caseId);
    assert.equal(await member.getByRole('button', { name: 'Place legal hold' }).count(), 0, 'only the lead supervisor gets the button');
    await lead.getByRole('button', { name: 'Place legal hold' }).click();
    const holder = world.users.cacSupervisor.username.replace('_', ' ');
    for (const page of [lead, member]) {
        await page.locator('h1 .badge.legal-hold', { hasText: 'Legal hold' }).waitFor();
        await page.locator('.legal-hold-line', { hasText: `set by ${holder} on ${todayShown()}` }).waitFor();
    }
    await lead.getByRole('button', { name: 'Lift legal hold' }).waitFor();
    await shoot(lead, 'retention-hold');
    await shoot(member, 'retention-hold');
    await axe(lead, 'board with a legal hold');
    noProblems(lead);
    noProblems(member);
});

test('a purge closes the open board with the retention notice; the board then shows the tombstone', async () => {
    await lead.getByRole('button', { name: 'Lift legal hold' }).click();
    await lead.getByRole('button', { name: 'Place legal hold' }).waitFor();
    await member.locator('h1 .badge.legal-hold').waitFor({ state: 'detached' });
    const api = await login(server.url, world.users.cacSupervisor);
    const b = await api.get(`/api/v1/cases/${caseId}`);
    assert.equal((await api.patch(`/api/v1/cases/${caseId}`, { status: 'closed', version: b.json.case.version })).status, 200);
    await psql(dbUrl, `UPDATE cases SET closed_at = '${new Date(Date.now() - 100 * DAY_MS).toISOString()}' WHERE id = ${caseId}`);
    const { stdout } = await run(BIN, ['retention', 'run'], { env: cliEnv(ownerUrl(dbUrl), { MDT_RETENTION: '90d' }) });
    assert.match(stdout, new RegExp(`\\(id ${caseId}\\), closed [0-9-]+: purged`));

    const notice = `This case was purged under the retention policy on ${todayShown()}.`;
    for (const page of [member, lead]) {
        await page.getByRole('alert').filter({ hasText: notice }).waitFor();
        assert.equal(await page.locator('#sec-timeline-title').count(), 0, 'the board was left');
    }
    await shoot(member, 'retention-purged');
    member.expectErrors = true; // the board's 410 is the tombstone
    await member.goto(`${server.url}/#/cases`);
    await member.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();
    await member.goto(`${server.url}/#/cases/${caseId}`);
    await member.getByRole('alert').filter({ hasText: notice }).waitFor();
    await member.getByRole('heading', { level: 1, name: /was purged/ }).waitFor();
    await shoot(member, 'retention-tombstone');
    await axe(member, 'a purged case');
    noProblems(lead);
    noProblems(member);
});
