// account.js - "My account": who I am, password change, authenticator.

import { api } from '../api.js';
import { ctx, agencyName } from '../ctx.js';
import { h, clear, field, showFormError, busy } from '../dom.js';
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

export async function render(root) {
    const me = await api.get('/api/v1/me');
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
    const expires = me.session?.expires_at ? new Date(me.session.expires_at * 1000) : null;
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
    );
}
