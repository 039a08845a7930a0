// browser.mjs - what the browser tests share: Debian's Chromium through
// playwright-core (never a downloaded browser), signing in through the
// page, axe-core, screenshots into tests/artifacts/.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { SOURCE_DIR } from '../../integration/lib/harness.mjs';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.MDT_CHROMIUM ?? '/usr/bin/chromium';
export const ARGS = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
];
export const ARTIFACTS = path.join(SOURCE_DIR, 'tests', 'artifacts');
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

// Endpoints the app probes to decide whether to show a feature.
const PROBES = ['/api/v1/actions', '/api/v1/meetings', '/api/v1/reports/'];

// Under `scripts/test.sh --faketime` this process runs with libfaketime
// preloaded. Chromium does not work under it (it stalls), so it runs on the
// real clock and every page gets the shifted time from Playwright's clock,
// started at this process's (shifted) now and running at the normal pace.
const SHIFTED_CLOCK = Boolean(process.env.FAKETIME);

export async function launch() {
    const env = { ...process.env };
    if (SHIFTED_CLOCK) delete env.LD_PRELOAD;
    return chromium.launch({ executablePath: CHROMIUM, args: ARGS, env });
}

// newPage(browser, {width}) - a fresh context (own cookies) and page; page
// errors and CSP violations are collected in page.problems.
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
    const context = await browser.newContext({ viewport: { width, height }, reducedMotion: 'reduce' });
    if (SHIFTED_CLOCK) await context.clock.install({ time: Date.now() });
    const page = await context.newPage();
    page.problems = [];
    page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
        const t = m.text();
        // Failed requests are judged below by URL; the rest are problems.
        if (m.type() === 'error' && !/^Failed to load resource/.test(t)) page.problems.push(`console: ${t}`);
    });
    page.on('response', (r) => {
        const u = new URL(r.url());
        const expected =
            (r.status() === 401 && u.pathname === '/api/v1/me') || // the first look for a session
            ([404, 403].includes(r.status()) && PROBES.some((p) => u.pathname.startsWith(p))); // features not there
        if (r.status() >= 400 && !expected && !page.expectErrors) page.problems.push(`HTTP ${r.status()} ${r.request().method()} ${u.pathname}`);
    });
    return page;
}

// signIn(page, base, {username, password}) - through the sign-in form;
// resolves when the case list shows.
export async function signIn(page, base, { username, password }, { expectCases = true } = {}) {
    await page.goto(`${base}/`);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (expectCases) await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor();
}

// openBoard(page, base, caseId) - the board, live (subscribed).
export async function openBoard(page, base, caseId) {
    await page.goto(`${base}/#/cases/${caseId}`);
    await page.locator('#sec-timeline-title').waitFor();
    await page.locator('#conn-state.is-online').waitFor();
}

// axe(page, name) - runs axe-core; fails on serious or critical violations.
// page.addScriptTag({path}) inserts the file as an inline <script>, which
// the app's CSP (script-src 'self') blocks, as it should; so the source is
// evaluated through the DevTools protocol instead, which CSP does not govern.
let axeSource = null;
export async function axe(page, name) {
    axeSource ??= readFileSync(AXE_PATH, 'utf8');
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
        const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
    });
    const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `axe: serious/critical violations on ${name}:\n${JSON.stringify(bad, null, 2)}`);
    return result;
}

// shoot(page, name) - a full-page screenshot at the page's current width.
export async function shoot(page, name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const width = page.viewportSize().width;
    const file = path.join(ARTIFACTS, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}

// atWidths(page, widths, fn) - runs fn at each viewport width.
export async function atWidths(page, widths, fn) {
    const old = page.viewportSize();
    for (const w of widths) {
        await page.setViewportSize({ width: w, height: old.height });
        await fn(w);
    }
    await page.setViewportSize(old);
}

// noProblems(page) - no script errors or CSP violations happened.
export function noProblems(page) {
    assert.deepEqual(page.problems, [], 'page errors or CSP violations');
}

// recordFrames(page) - every WebSocket frame the page receives and sends:
// {received: [text], sent: [text], sockets: n}.
export function recordFrames(page) {
    const rec = { received: [], sent: [], sockets: 0 };
    page.on('websocket', (ws) => {
        rec.sockets++;
        ws.on('framereceived', (f) => rec.received.push(typeof f.payload === 'string' ? f.payload : f.payload.toString()));
        ws.on('framesent', (f) => rec.sent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString()));
    });
    return rec;
}

// fitsWidth(page, width) - nothing sticks out sideways at that width.
export async function fitsWidth(page, width) {
    const old = page.viewportSize();
    await page.setViewportSize({ width, height: old.height });
    const wide = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
            .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 1)
            .slice(0, 5)
            .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    });
    await page.setViewportSize(old);
    assert.deepEqual(wide, [], `elements wider than ${width} px`);
}
