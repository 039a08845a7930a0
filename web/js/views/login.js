// login.js - sign-in (password, then the 6-digit code when the account uses
// MFA), and the steps a session may have to take before anything else:
// changing a one-time password, enrolling an authenticator.

import { api } from '../api.js';
import { h, clear, field, showFormError, busy, focusHeading } from '../dom.js';
import { mfaEnrolment } from './mfa.js';
import { passwordForm } from './account.js';

// render(root, {me, notice, onSignedIn, onLogout})
export function render(root, { me, notice, onSignedIn, onLogout }) {
    if (me && me.password_change_required) return renderPasswordChange(root, { onSignedIn, onLogout });
    if (me && me.mfa_enrolment_required) return renderEnrolment(root, { onSignedIn, onLogout });
    return renderSignIn(root, { notice, onSignedIn });
}

let rememberedPassword = null; // kept only between sign-in and enrolment

function renderSignIn(root, { notice, onSignedIn }) {
    const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
    const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', text: 'Sign in' });
    const form = h(
        'form',
        { class: 'stack', novalidate: true, 'aria-labelledby': 'signin-title' },
        field('User name', user),
        field('Password', pass),
        h('div', { class: 'actions' }, submit),
    );
    const card = h(
        'section',
        { class: 'card signin' },
        h('h1', { id: 'signin-title', text: 'Sign in to MDT Board' }),
        notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
        form,
        h('p', { class: 'hint', text: 'Forgot your password or lost your authenticator? Ask your agency’s MDT Board administrator.' }),
    );
    clear(root, h('div', { class: 'signin-page' }, card));

    let codeStep = null;
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        if (!user.value.trim() || !pass.value) {
            showFormError(form, { message: 'Enter your user name and password.', field: !user.value.trim() ? 'username' : 'password' });
            return;
        }
        await busy(submit, async () => {
            const body = { username: user.value.trim(), password: pass.value };
            if (codeStep) body.totp = codeStep.value.trim();
            try {
                await api.post('/api/v1/login', body);
                const me = await api.get('/api/v1/me');
                rememberedPassword = me.mfa_enrolment_required ? pass.value : null;
                pass.value = '';
                await onSignedIn(me);
            } catch (err) {
                if (err.code === 'mfa_required') {
                    if (!codeStep) {
                        codeStep = h('input', { type: 'text', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true });
                        const f = field('6-digit code from your authenticator app', codeStep, { hint: 'Open the authenticator app on your phone and type the code shown for MDT Board.' });
                        form.querySelector('.actions').before(f);
                        user.readOnly = true;
                        submit.textContent = 'Verify code';
                        codeStep.focus();
                    } else {
                        showFormError(form, { message: 'That code is not right or was already used. Wait for the next code and try again.', field: 'totp' });
                        codeStep.select();
                    }
                    return;
                }
                if (err.status === 429) {
                    showFormError(form, { message: `Too many sign-in attempts. Try again in ${err.retryAfter ?? 60} seconds.` });
                } else if (err.status === 401) {
                    showFormError(form, { message: 'Wrong user name or password, or the account is locked. After 5 failed attempts an account is locked for 15 minutes.' });
                    pass.select();
                } else {
                    showFormError(form, err);
                }
            }
        });
    });
    user.focus();
}

function stepPage(root, titleText, intro, content, onLogout) {
    clear(
        root,
        h(
            'div',
            { class: 'signin-page' },
            h(
                'section',
                { class: 'card signin wide' },
                h('h1', { text: titleText }),
                h('p', { text: intro }),
                content,
                h('p', {}, h('button', { type: 'button', class: 'link', on: { click: onLogout }, text: 'Sign out instead' })),
            ),
        ),
    );
    focusHeading(root);
}

function renderEnrolment(root, { onSignedIn, onLogout }) {
    const pw = rememberedPassword;
    rememberedPassword = null;
    const section = mfaEnrolment({
        password: pw,
        onDone: async () => {
            const me = await api.get('/api/v1/me');
            const go = h('button', { type: 'button', text: 'Continue to MDT Board', on: { click: () => onSignedIn(me) } });
            section.append(h('div', { class: 'actions' }, go));
            go.focus();
        },
    });
    stepPage(root, 'Two-step sign-in is required', 'Your agency requires a code from an authenticator app at every sign-in. Set it up now to continue.', section, onLogout);
}

function renderPasswordChange(root, { onSignedIn, onLogout }) {
    const form = passwordForm({
        currentLabel: 'One-time password (from your administrator)',
        onDone: async ({ newPassword }) => {
            const me = await api.get('/api/v1/me');
            // The MFA set-up that may follow confirms the password just
            // chosen, never the one-time password it replaced.
            rememberedPassword = me.mfa_enrolment_required ? newPassword : null;
            await onSignedIn(me);
        },
    });
    stepPage(root, 'Choose a new password', 'Your password was reset by an administrator. Choose your own password to continue.', form, onLogout);
}
