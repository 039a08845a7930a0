// mfa.js - TOTP enrolment (POST /api/v1/me/mfa, then PUT with a code),
// used at first sign-in when the agency requires MFA and on "My account".

import { api } from '../api.js';
import { h, field, showFormError, busy, clear } from '../dom.js';
import { qrSvg } from '../qr.js';

// mfaEnrolment({enrolled, password, onDone}) - a section element.
//   enrolled: the user already has MFA (re-enrolment asks for a current code)
//   password: the password just typed at sign-in (skips asking again)
export function mfaEnrolment({ enrolled = false, password = null, onDone }) {
    const section = h('section', { class: 'card mfa', 'aria-labelledby': 'mfa-title' });
    const title = h('h2', { id: 'mfa-title', text: enrolled ? 'Set up a new authenticator' : 'Set up two-step sign-in' });

    const pw = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const current = h('input', { type: 'text', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true });
    const startBtn = h('button', { type: 'submit', text: 'Continue' });
    const start = h(
        'form',
        { class: 'stack', novalidate: true },
        h('p', {
            text: enrolled
                ? 'To replace your authenticator, confirm your password and a code from the authenticator you use now.'
                : 'Your agency requires a second step at sign-in: a 6-digit code from an authenticator app (for example Google Authenticator, Microsoft Authenticator or FreeOTP) on your phone. Confirm your password to begin.',
        }),
        field('Password', pw),
        enrolled ? field('Current 6-digit code', current) : null,
        h('div', { class: 'actions' }, startBtn),
    );

    async function begin(password) {
        const body = { password };
        if (enrolled) body.totp = current.value.trim();
        const res = await api.post('/api/v1/me/mfa', body);
        showSecret(res);
    }

    start.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(start, null);
        await busy(startBtn, async () => {
            try {
                await begin(pw.value);
            } catch (err) {
                showFormError(start, err.field === 'password' ? { ...err, message: 'That password is not right.' } : err);
            }
        });
    });

    function showSecret({ secret, otpauth_uri: uri }) {
        const code = h('input', { type: 'text', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true });
        const confirmBtn = h('button', { type: 'submit', text: 'Confirm and turn on' });
        const grouped = secret.replace(/(.{4})/g, '$1 ').trim();
        let qr = null;
        try {
            qr = qrSvg(uri);
        } catch {
            qr = null;
        }
        const confirm = h(
            'form',
            { class: 'stack', novalidate: true },
            h('ol', { class: 'steps' },
                h(
                    'li',
                    {},
                    'In your authenticator app, add an account. ',
                    qr ? 'Scan this code, or type the key below.' : 'Type the key below.',
                    qr ? h('figure', { class: 'qr' }, qr, h('figcaption', { text: 'QR code of the set-up link below' })) : null,
                ),
                h('li', {}, 'Key (time-based, 6 digits, 30 seconds): ', h('code', { class: 'secret', id: 'mfa-secret', text: grouped })),
                h('li', {}, 'Or open this set-up link on the phone: ', h('code', { class: 'uri', id: 'mfa-uri', text: uri })),
                h('li', {}, 'Enter the 6-digit code the app shows now.'),
            ),
            field('6-digit code', code),
            h('div', { class: 'actions' }, confirmBtn),
        );
        confirm.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(confirm, null);
            await busy(confirmBtn, async () => {
                try {
                    await api.put('/api/v1/me/mfa', { totp: code.value.trim() });
                    clear(section, title, h('p', { class: 'success', role: 'status', text: 'Two-step sign-in is on. From now on you will be asked for a code at every sign-in.' }));
                    onDone?.();
                } catch (err) {
                    showFormError(confirm, err.status === 422 ? { ...err, message: 'That code is not right. Check the time on your phone and try the newest code.' } : err);
                }
            });
        });
        clear(section, title, confirm);
        code.focus();
    }

    clear(section, title, start);
    if (password && !enrolled) {
        // The password typed a moment ago: a refusal here is not the
        // person's mistake, so it asks for the password without an error.
        begin(password).catch((err) => {
            if (err.field !== 'password') showFormError(start, err);
            else pw.focus();
        });
    }
    return section;
}
