// clock.mjs - dates and times for tests, always taken from the clock.
//
// A test that compares with "today", "overdue", "next review", "last
// reviewed", a consent's expiry or a report's range computes its dates
// here, in the installation's time zone, never as a literal: a literal is
// a test that the calendar breaks one morning. Literal dates stay only in
// tests about parsing (e.g. 2026-02-30 is invalid on any date).
//
// Calendar arithmetic is done on the date in that zone (not by adding
// 86,400,000 ms to "now"), so it stays right across DST changes and a few
// minutes before midnight.

// The time zone the servers under test run in (their default; tests that
// need another pass MDT_TIME_ZONE and the zone here).
export const TZ = 'America/New_York';

function parts(ms, timeZone) {
    const fmt = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
    });
    const out = {};
    for (const p of fmt.formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
    return out;
}

// localDate(ms, timeZone) - YYYY-MM-DD of the instant ms in that zone.
export function localDate(ms, timeZone = TZ) {
    const p = parts(ms, timeZone);
    return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

// addDays('YYYY-MM-DD', n) - the calendar date n days later (n may be < 0).
export function addDays(date, n) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// today(offsetDays, timeZone) - today's date in that zone, plus offsetDays.
export function today(offsetDays = 0, timeZone = TZ) {
    return addDays(localDate(Date.now(), timeZone), offsetDays);
}

// month(offsetMonths, timeZone) - YYYY-MM of this month in that zone, plus offsetMonths.
export function month(offsetMonths = 0, timeZone = TZ) {
    const [y, m] = today(0, timeZone).split('-').map(Number);
    const d = new Date(Date.UTC(y, m - 1 + offsetMonths, 1));
    return d.toISOString().slice(0, 7);
}

// iso(ms) - an RFC 3339 UTC time with whole seconds.
export function iso(ms) {
    return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

// nowIso(offsetMs) - now (+ offsetMs) as RFC 3339 UTC.
export function nowIso(offsetMs = 0) {
    return iso(Date.now() + offsetMs);
}

// wallTime('YYYY-MM-DD', 'HH:MM', timeZone) - the RFC 3339 UTC instant of
// that local wall-clock time in that zone.
export function wallTime(date, hhmm, timeZone = TZ) {
    const [y, mo, d] = date.split('-').map(Number);
    const [h, mi] = hhmm.split(':').map(Number);
    const want = Date.UTC(y, mo - 1, d, h, mi);
    let t = want;
    for (let i = 0; i < 3; i++) {
        const p = parts(t, timeZone);
        const seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
        t += want - seen;
    }
    return iso(t);
}

export const DAY_MS = 86400000;
