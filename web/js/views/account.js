// account.js - "My account": who I am, password change, authenticator,
// and the content-free notifications outside the app (email digest and
// calendar feed: counts, times and links only, never case details).

import { api } from '../api.js';
import { ctx, agencyName } from '../ctx.js';
import { h, clear, field, select, showFormError, busy } from '../dom.js';
import { label } from '../format.js';
import { mfaEnrolment } from './mfa.js';

// passwordForm({currentLabel, onDone}) - PUT /api/v1/me/password.
export function passwordForm({ currentLabel = 'Current password', onDone } = {}) {
    const cur = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true });
    const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: '12' });
    const again = h('input', { type: 'password', name: 'new_password_again', autocomplete: 'new-password', required: true });
    const submit = h('button', { type: 'submit', text: 'Change password' });
    const form = h(
        'form',
        { class: 'stack', novalidate: true },
        field(currentLabel, cur),
        field('New password', next, { hint: 'At least 12 characters. A few unrelated words make a strong, memorable password.' }),
        field('New password again', again),
        h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        if (next.value !== again.value) {
            showFormError(form, { message: 'The two new passwords are not the same.', field: 'new_password_again' });
            return;
        }
        await busy(submit, async () => {
            try {
                const newPassword = next.value;
                await api.put('/api/v1/me/password', { current_password: cur.value, new_password: newPassword });
                form.reset();
                form.append(h('p', { class: 'success', role: 'status', text: 'Your password was changed. Your other sessions were signed out.' }));
                await onDone?.({ newPassword });
            } catch (err) {
                showFormError(form, err.field === 'current_password' ? { ...err, message: 'The current password is not right.' } : err);
            }
        });
    });
    return form;
}

const DIGESTS = [
    ['off', 'Off'],
    ['daily', 'Daily, early morning'],
    ['weekly', 'Weekly, Monday early morning'],
];

// digestForm(settings) - PUT /api/v1/me/notification-settings.
function digestForm(settings) {
    const email = h('input', { type: 'email', name: 'email', autocomplete: 'email', value: settings.email ?? '', spellcheck: 'false' });
    const digest = select(DIGESTS, settings.digest, { name: 'digest' });
    const submit = h('button', { type: 'submit', text: 'Save email settings' });
    const status = h('p', { class: 'success', role: 'status', hidden: true });
    const form = h(
        'form',
        { class: 'stack', novalidate: true },
        settings.email_configured ? null : h('p', { class: 'hint', text: 'This installation does not send email yet. Your choice is kept for when it does.' }),
        field('Email address', email, { hint: 'Where the summary goes. Use your work address.' }),
        field('How often', digest, { hint: 'Counts of your overdue, new and soon-due action items and meetings this week, with a link to MDT Board. Never a case number, name or text.' }),
        h('div', { class: 'actions' }, submit),
        status,
    );
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        status.hidden = true;
        await busy(submit, async () => {
            try {
                const body = { email: email.value.trim() || null, digest: digest.value };
                const saved = await api.put('/api/v1/me/notification-settings', body);
                email.value = saved.email ?? '';
                status.textContent = saved.digest === 'off' ? 'Saved. You will get no summary email.' : `Saved. Your ${saved.digest} summary goes to ${saved.email}.`;
                status.hidden = false;
            } catch (err) {
                showFormError(form, err);
            }
        });
    });
    return form;
}

// calendarBox(active) - make, replace or turn off the calendar link. The
// link is shown once, right after it is made (the server keeps only a hash).
function calendarBox(active) {
    const box = h('div', { class: 'stack' });
    const draw = (url) => {
        const parts = [
            h('p', {
                text: 'A private link your calendar app can subscribe to: your meetings and the due dates of your action items, titled "MDT case review" and "Action item due", without case details.',
            }),
        ];
        if (url) {
            const out = h('input', { type: 'text', readonly: true, value: url, name: 'calendar_url', spellcheck: 'false' });
            parts.push(
                field('Your calendar link', out, { hint: 'Copy it now: it is shown only once. Anyone with it sees your meeting times and due dates. A new link or a password change turns it off.' }),
                h('p', { class: 'success', role: 'status', text: 'A new calendar link was made. Any earlier link no longer works.' }),
            );
        } else {
            parts.push(h('p', { class: 'hint', text: active ? 'You have a calendar link. Make a new one if you lost it: the old one stops working.' : 'You have no calendar link.' }));
        }
        const make = h('button', { type: 'button', class: 'secondary', text: active ? 'Make a new calendar link' : 'Make a calendar link' });
        make.addEventListener('click', () =>
            busy(make, async () => {
                try {
                    const r = await api.post('/api/v1/me/calendar', {});
                    active = true;
                    draw(r.url);
                    box.querySelector('input[name="calendar_url"]')?.focus();
                } catch (err) {
                    showFormError(box, err);
                }
            }),
        );
        const off = active ? h('button', { type: 'button', class: 'danger secondary', text: 'Turn off the calendar link' }) : null;
        off?.addEventListener('click', () =>
            busy(off, async () => {
                try {
                    await api.del('/api/v1/me/calendar');
                    active = false;
                    draw(null);
                    box.append(h('p', { class: 'success', role: 'status', text: 'The calendar link is off.' }));
                    box.querySelector('button')?.focus();
                } catch (err) {
                    showFormError(box, err);
                }
            }),
        );
        clear(box, ...parts, h('div', { class: 'actions' }, make, off));
    };
    draw(null);
    return box;
}

export async function render(root) {
    const [me, settings] = await Promise.all([api.get('/api/v1/me'), api.get('/api/v1/me/notification-settings')]);
    ctx.me = { ...ctx.me, ...me };
    const { user } = me;
    const mfaBox = h('div');
    const renderMfa = () =>
        clear(
            mfaBox,
            user.mfa_enabled
                ? h('p', { text: 'Two-step sign-in is on for your account.' })
                : h('p', { text: me.mfa_required ? 'Your agency requires two-step sign-in.' : 'Two-step sign-in is off. You can turn it on for extra protection.' }),
            h('button', {
                type: 'button',
                class: 'secondary',
                text: user.mfa_enabled ? 'Replace my authenticator' : 'Set up two-step sign-in',
                on: {
                    click: () => {
                        clear(mfaBox, mfaEnrolment({ enrolled: user.mfa_enabled, onDone: () => (user.mfa_enabled = true) }));
                        mfaBox.querySelector('input')?.focus();
                    },
                },
            }),
        );
    renderMfa();
    const expires = me.session?.expires_at ? new Date(me.session.expires_at) : null;
    clear(
        root,
        h('h1', { text: 'My account' }),
        h(
            'section',
            { class: 'card', 'aria-labelledby': 'acct-who' },
            h('h2', { id: 'acct-who', text: 'Who you are' }),
            h(
                'dl',
                { class: 'facts' },
                h('dt', { text: 'Name' }),
                h('dd', { text: user.display_name }),
                h('dt', { text: 'User name' }),
                h('dd', { text: user.username }),
                h('dt', { text: 'Agency' }),
                h('dd', { text: me.agency?.name ?? agencyName(user.agency_id) }),
                h('dt', { text: 'Role' }),
                h('dd', { text: label('role', user.role) }),
                h('dt', { text: 'Idle sign-out' }),
                h('dd', { text: `after ${Math.round((me.session?.idle_timeout_s ?? 900) / 60)} minutes without activity` }),
                expires ? h('dt', { text: 'Session ends at the latest' }) : null,
                expires ? h('dd', { text: expires.toLocaleString() }) : null,
            ),
        ),
        h('section', { class: 'card', 'aria-labelledby': 'acct-pw' }, h('h2', { id: 'acct-pw', text: 'Password' }), passwordForm()),
        h('section', { class: 'card', 'aria-labelledby': 'acct-mfa' }, h('h2', { id: 'acct-mfa', text: 'Two-step sign-in' }), mfaBox),
        h(
            'section',
            { class: 'card', 'aria-labelledby': 'acct-notify' },
            h('h2', { id: 'acct-notify', text: 'Email and calendar' }),
            h('p', { text: 'Reminders outside MDT Board carry no case details: only counts, times and a link back here.' }),
            h('h3', { text: 'Summary email' }),
            digestForm(settings),
            h('h3', { text: 'Calendar feed' }),
            calendarBox(settings.calendar_active),
        ),
    );
}
