// attachments.test.mjs - files on the board (board_files.js) with two
// users of different agencies: a CAC member adds a PDF by dragging it onto
// the drop area and a text file by the keyboard path (file picker, then
// Enter on Upload); the police page shows both live and downloads the PDF,
// whose SHA-256 is the one uploaded and the one shown; a CAC-only file
// never reaches the police page; retraction with a reason shows on both.
// Files stand on the timeline at their time (name, size, type, short
// SHA-256, author and agency) and on the consent they document; a file
// that documents a consent leaves the recipient's screen when the consent
// is revoked.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createDatabase, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { ARTIFACTS, axe, launch, newPage, noProblems, openBoard, recordFrames, shoot, signIn } from './lib/browser.mjs';
import path from 'node:path';

let server, browser, world, caseId, cac, police, policeFrames;

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const pdf = (text) =>
    Buffer.from(`%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n2 0 obj << /Length ${text.length + 20} >> stream\nBT (${text}) Tj ET\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`);

before(async () => {
    const dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police], alias: 'Willow' });
    browser = await launch();
    cac = await newPage(browser);
    police = await newPage(browser, { width: 390 });
    policeFrames = recordFrames(police);
    await signIn(cac, server.url, world.users.cacMember);
    await signIn(police, server.url, world.users.policeMember);
    await openBoard(cac, server.url, caseId);
    await openBoard(police, server.url, caseId);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

// shootFiles(page, name) - a screenshot of the Files section alone.
async function shootFiles(page, name) {
    await page.locator('#sec-files').screenshot({ path: path.join(ARTIFACTS, `${name}-${page.viewportSize().width}.png`) });
}

// drop(page, name, bytes, type) - drags a file onto the drop area.
async function drop(page, name, bytes, type) {
    const dt = await page.evaluateHandle(
        ({ name, data, type }) => {
            const d = new DataTransfer();
            d.items.add(new File([new Uint8Array(data)], name, { type }));
            return d;
        },
        { name, data: [...bytes], type },
    );
    await page.locator('#sec-files .drop-zone').dispatchEvent('drop', { dataTransfer: dt });
}

test('drag and drop and the keyboard path upload; the other screen sees both live and downloads the same bytes', async () => {
    await cac.locator('#sec-files summary', { hasText: 'Add a file' }).click();
    const token = randomBytes(4).toString('hex');
    const file = pdf(`Release of information ${token}`);
    await drop(cac, `Release ${token}.pdf`, file, 'application/pdf');
    await cac.locator('.file-chosen', { hasText: `Ready to upload: Release ${token}.pdf` }).waitFor();
    await cac.getByRole('button', { name: 'Upload', exact: true }).click();
    await cac.locator('#sec-files [role=status]', { hasText: 'Uploaded' }).waitFor();
    const item = police.locator('.files-list > li', { hasText: `Release ${token}.pdf` });
    await item.waitFor();
    assert.match(await item.locator('.file-sha code').textContent(), new RegExp(sha256(file)));

    // the keyboard path: the file picker, then Enter on Upload
    const text = Buffer.from(`Exam summary ${token}\n`);
    await cac.getByLabel(/^File \(PDF/).setInputFiles({ name: `exam-${token}.txt`, mimeType: 'text/plain', buffer: text });
    await cac.getByRole('button', { name: 'Upload', exact: true }).focus();
    await cac.keyboard.press('Enter');
    await police.locator('.files-list > li', { hasText: `exam-${token}.txt` }).waitFor();

    // download on the second screen: the same bytes
    const [download] = await Promise.all([police.waitForEvent('download'), item.getByRole('link', { name: `Download Release ${token}.pdf` }).click()]);
    assert.equal(download.suggestedFilename(), `Release ${token}.pdf`);
    assert.equal(sha256(readFileSync(await download.path())), sha256(file));
    await shoot(cac, 'attachments-board');
    await shoot(police, 'attachments-board');
    await shootFiles(cac, 'attachments-files');
    await shootFiles(police, 'attachments-files');
    await axe(cac, 'board with files');
    noProblems(cac);
    noProblems(police);
});

test('a CAC-only file never reaches the police page; a refused type says why', async () => {
    await cac.locator('#sec-files').getByLabel(/Only my agency/).check();
    await drop(cac, 'cac-only.txt', Buffer.from('CACONLYFILE internal\n'), 'text/plain');
    await cac.getByRole('button', { name: 'Upload', exact: true }).click();
    await cac.locator('.files-list > li', { hasText: 'cac-only.txt' }).waitFor();
    await cac.locator('#sec-files').getByLabel(/All agencies on this case/).check();
    await drop(cac, 'shared-after.txt', Buffer.from('shared after\n'), 'text/plain');
    await cac.getByRole('button', { name: 'Upload', exact: true }).click();
    await police.locator('.files-list > li', { hasText: 'shared-after.txt' }).waitFor();
    assert.equal(await police.locator('.files-list > li', { hasText: 'cac-only.txt' }).count(), 0);
    assert.ok(!policeFrames.received.some((f) => f.includes('cac-only') || f.includes('CACONLYFILE')));

    cac.expectErrors = true;
    await drop(cac, 'page.pdf', Buffer.from('<!DOCTYPE html><html><body>hi</body></html>\n'), 'application/pdf');
    await cac.getByRole('button', { name: 'Upload', exact: true }).click();
    await cac.locator('#sec-files', { hasText: /not a PDF, PNG, JPEG/ }).waitFor();
    cac.expectErrors = false;
});

test('retraction with a reason shows on both screens', async () => {
    const li = cac.locator('.files-list > li', { hasText: 'shared-after.txt' });
    await li.getByRole('button', { name: 'Retract' }).click();
    await li.getByLabel('Why is it retracted?').fill('Wrong case');
    await li.getByRole('button', { name: 'Retract file' }).click();
    await police.locator('.files-list > li.is-retracted', { hasText: 'Wrong case' }).waitFor();
    assert.equal(await police.locator('.files-list > li.is-retracted .file-download').count(), 0);
    await shoot(police, 'attachments-retracted');
    await shootFiles(police, 'attachments-files-retracted');
    await shootFiles(cac, 'attachments-files-retracted');
    noProblems(police);
});

test('files on the timeline and on the consent they document; the revocation hides it on the recipient screen', async () => {
    const cacApi = await login(server.url, world.users.cacMember);
    const today = new Date().toISOString().slice(0, 10);
    const consent = await cacApi.post(`/api/v1/cases/${caseId}/consents`, {
        categories: ['identity'],
        agency_id: world.agencies.police,
        consented_by: [{ role: 'guardian', name: 'Ana Guardian' }],
        purpose: 'share the release of information',
        signed_on: today,
        expires_at: new Date(Date.now() + 30 * 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    assert.equal(consent.status, 201, consent.text);
    const token = randomBytes(4).toString('hex');
    const file = pdf(`Signed release ${token}`);
    await cac.locator('#sec-files').getByLabel('Documents a consent (optional)').selectOption(String(consent.json.id));
    await drop(cac, `signed-release-${token}.pdf`, file, 'application/pdf');
    await cac.getByRole('button', { name: 'Upload', exact: true }).click();
    await cac.locator('#sec-files [role=status]', { hasText: `Uploaded signed-release-${token}.pdf` }).waitFor();

    // on the timeline of both screens, at its time, with what it is
    for (const page of [cac, police]) {
        const row = page.locator('ol.timeline > li.kind-file', { hasText: `signed-release-${token}.pdf` });
        await row.waitFor();
        const text = await row.textContent();
        assert.match(text, /cacMember .* cac /, "the author and the agency");
        assert.match(text, /PDF · \d+ bytes · SHA-256 [0-9a-f]{12}/);
        assert.equal(await row.locator('code').getAttribute('title'), sha256(file));
        assert.equal(await row.locator('time').count(), 1);
        // and on the consent it documents
        await page.locator('.consent-files', { hasText: `signed-release-${token}.pdf` }).waitFor();
    }
    for (const page of [cac, police]) {
        await page.locator('#sec-timeline').screenshot({ path: path.join(ARTIFACTS, `attachments-timeline-${page.viewportSize().width}.png`) });
        await page.locator('#sec-pii').screenshot({ path: path.join(ARTIFACTS, `attachments-consent-${page.viewportSize().width}.png`) });
    }

    // the consent is revoked: the police screen loses the file everywhere, live
    assert.equal((await cacApi.del(`/api/v1/consents/${consent.json.id}`)).status, 200);
    await police.locator('ol.timeline > li.kind-file', { hasText: `signed-release-${token}.pdf` }).waitFor({ state: 'detached' });
    assert.equal(await police.locator('.files-list > li', { hasText: `signed-release-${token}.pdf` }).count(), 0);
    assert.equal(await police.locator('.consent-files').count(), 0);
    // the CAC keeps it
    await cac.locator('ol.timeline > li.kind-file', { hasText: `signed-release-${token}.pdf` }).waitFor();
    await shoot(police, 'attachments-revoked');
    noProblems(cac);
    noProblems(police);
});
