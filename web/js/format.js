// format.js - dates, times and the words shown for the API's enum values.

const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

// dateTime('2026-11-28T14:03:00Z') - "Nov 28, 2026, 9:03 AM" in the
// installation's zone (every person on a team sees the same time, whatever
// their laptop says); with { zone: true } the zone's abbreviation follows
// ("… 9:03 AM EST"), for times where the zone matters.
export function dateTime(iso, { zone = false } = {}) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return (zone ? zoned.dtfZone : zoned.dtf).format(d);
}

// dayOf('2026-12-07T02:08:00Z') - the installation-zone day of a moment,
// "Dec 6, 2026" (a 9:08 PM New York revocation is on Dec 6, not Dec 7).
export function dayOf(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : zoned.df.format(d);
}

// date('2026-11-28') - "Nov 28, 2026" (a calendar date, no zone shift).
export function date(ymd) {
    if (!ymd) return '';
    const d = new Date(`${ymd}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? String(ymd) : df.format(d);
}

// The installation's time zone (MDT_TIME_ZONE): "today" and the days a
// consent covers are counted there, not in the browser's zone. The API does
// not expose it yet; app.js takes me.time_zone when the server sends it.
let installationZone = 'America/New_York';
const zoned = formatters(installationZone);

function formatters(timeZone) {
    return {
        df: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone }),
        dtf: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone }),
        dtfZone: new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone }),
        ymd: new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }),
    };
}

export function setTimeZone(tz) {
    if (!tz || tz === installationZone) return;
    try {
        Object.assign(zoned, formatters(tz));
        installationZone = tz;
    } catch {
        // an unknown zone: keep the default
    }
}

export function timeZone() {
    return installationZone;
}

// validThrough(expires_at) - the last day a consent covers: expiry is
// exclusive, so the installation-zone date of expires_at minus one second.
export function validThrough(iso) {
    if (!iso) return '';
    const d = new Date(new Date(iso).getTime() - 1000);
    return Number.isNaN(d.getTime()) ? String(iso) : zoned.df.format(d);
}

// zoneDay(iso) - the YYYY-MM-DD of a moment in the installation's zone
// (the day a meeting is held, as the server counts it); now when absent.
export function zoneDay(iso) {
    const d = new Date(iso ?? Date.now());
    return Number.isNaN(d.getTime()) ? '' : zoned.ymd.format(d);
}

// today(n) - YYYY-MM-DD n days from today in the installation's zone, by
// calendar arithmetic on the zone's date (never by adding 24 h, which a
// DST change or a late-evening clock turns into the wrong day).
export function today(offsetDays = 0) {
    const [y, m, d] = zoned.ymd.format(new Date()).split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + offsetDays)).toISOString().slice(0, 10);
}

// list(['a','b','c']) - "a, b and c".
export function list(items) {
    const a = items.filter(Boolean);
    if (a.length <= 1) return a.join('');
    return `${a.slice(0, -1).join(', ')} and ${a[a.length - 1]}`;
}

export const LABELS = {
    status: { referred: 'Referred', active: 'Active', monitoring: 'Monitoring', closed: 'Closed', purged: 'Purged' },
    entryKind: { note: 'Note', interview: 'Forensic interview', decision: 'Decision', update: 'Update' },
    agendaReason: {
        carried_over: 'Carried over: on the last meeting’s agenda but not reached',
        overdue_actions: 'Has overdue action items',
        review_due: 'Review due (its review cadence)',
        not_reviewed: 'Not reviewed in the last 14 days',
    },
    actionStatus: { open: 'Open', in_progress: 'In progress', done: 'Done', cancelled: 'Cancelled' },
    agencyKind: {
        cac: 'Child Advocacy Center',
        child_welfare: 'Child welfare',
        law_enforcement: 'Law enforcement',
        prosecution: 'Prosecution',
        medical: 'Medical',
        mental_health: 'Mental health',
        victim_advocacy: 'Victim advocacy',
        immigration_legal: 'Immigration legal services',
        other: 'Other',
    },
    role: { member: 'Member', interviewer: 'Interviewer', supervisor: 'Supervisor', admin: 'Administrator' },
    disclosure: { none: 'No disclosure', partial: 'Partial disclosure', full: 'Full disclosure' },
    piiCategory: { identity: 'Identity', contact: 'Contact', immigration: 'Immigration', health: 'Health' },
    consentRole: { minor: 'Minor', guardian: 'Guardian', custodian: 'Custodian', sponsor: 'Sponsor', self: 'Self' },
    serviceCategory: {
        information_referral: 'Information and referral',
        personal_advocacy: 'Personal advocacy',
        emotional_support_safety: 'Emotional support and safety',
        shelter_housing: 'Shelter and housing',
        criminal_civil_justice: 'Criminal and civil justice',
        immigration_legal: 'Immigration legal',
        medical: 'Medical',
        mental_health: 'Mental health',
    },
    abuseType: {
        sex_trafficking: 'Sex trafficking',
        labor_trafficking: 'Labor trafficking',
        sexual_abuse: 'Sexual abuse',
        physical_abuse: 'Physical abuse',
        neglect: 'Neglect',
        exploitation_online: 'Online exploitation',
        other: 'Other',
    },
    traffickingType: { sex: 'Sex', labor: 'Labor', both: 'Sex and labor', unknown: 'Unknown', none: 'None' },
    gender: { female: 'Female', male: 'Male', nonbinary: 'Nonbinary', unknown: 'Unknown' },
    ageGroup: { '0-5': '0–5', '6-12': '6–12', '13-17': '13–17', '18+': '18 and over' },
    race: {
        american_indian_alaska_native: 'American Indian or Alaska Native',
        asian: 'Asian',
        black: 'Black or African American',
        hispanic_latino: 'Hispanic or Latino',
        middle_eastern_north_african: 'Middle Eastern or North African',
        native_hawaiian_pacific_islander: 'Native Hawaiian or Pacific Islander',
        white: 'White',
        other: 'Other',
        unknown: 'Unknown',
    },
    relationship: {
        parent: 'Parent',
        relative: 'Relative',
        intimate_partner: 'Intimate partner',
        acquaintance: 'Acquaintance',
        employer: 'Employer',
        stranger: 'Stranger',
        unknown: 'Unknown',
    },
    ageRange: { under_18: 'Under 18', '18-24': '18–24', '25-29': '25–29', '30-39': '30–39', '40-49': '40–49', '50+': '50 and over', unknown: 'Unknown' },
    disposition: {
        pending: 'Pending',
        no_charges: 'No charges',
        plea: 'Plea',
        convicted: 'Convicted',
        acquitted: 'Acquitted',
        dismissed: 'Dismissed',
        unknown: 'Unknown',
    },
    cpOutcome: {
        pending: 'Pending',
        in_home_services: 'In-home services',
        out_of_home_placement: 'Out-of-home placement',
        case_closed: 'Case closed',
        not_investigated: 'Not investigated',
        unknown: 'Unknown',
    },
    referral: { not_needed: 'Not needed', referred: 'Referred', engaged: 'Engaged', completed: 'Completed', declined: 'Declined' },
};

// label(group, value) - the words for an enum value (the value itself if unknown).
export function label(group, value) {
    if (value === null || value === undefined || value === '') return '—';
    return LABELS[group]?.[value] ?? String(value);
}

// options(group) - [[value, label], ...] for a select.
export function options(group) {
    return Object.entries(LABELS[group]);
}
