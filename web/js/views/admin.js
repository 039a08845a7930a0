// admin.js - administration: users (create, role, deactivate, reset MFA or
// password), agencies (create, rename, deactivate), the audit log viewer;
// for supervisors the audit trail of a case their agency leads and the
// account changes of their agency.

import { api, qs } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole } from '../ctx.js';
import { h, clear, field, select, showFormError, busy } from '../dom.js';
import { dateTime, label, options } from '../format.js';
import { navigate } from '../app.js';
import { detailText, renderAudit, whoText } from './audit_log.js';

export async function render(root, { parts, query }) {
    const role = myRole();
    if (parts[0] === 'account-changes') return renderAccountChanges(root);
    if (parts[0] === 'audit') return renderAudit(root, query, { caseOnly: role !== 'admin' });
    if (role !== 'admin') {
        clear(root, h('h1', { text: 'Administration' }), h('p', { text: 'Only administrators manage users and agencies.' }));
        return;
    }
    const tab = parts[1] ?? 'users';
    const tabs = [
        ['users', 'Users'],
        ['agencies', 'Agencies'],
        ['audit', 'Audit log'],
    ];
    const nav = h(
        'nav',
        { class: 'tabs', 'aria-label': 'Administration' },
        h('ul', {}, tabs.map(([k, t]) => h('li', {}, h('a', { href: `#/admin/${k}`, 'aria-current': k === tab ? 'page' : null, text: t })))),
    );
    const inner = h('div');
    clear(root, h('h1', { text: `Administration: ${tabs.find((t) => t[0] === tab)?.[1] ?? ''}` }), nav, inner);
    if (tab === 'agencies') return renderAgencies(inner);
    if (tab === 'audit') return renderAudit(inner, query, { embedded: true });
    return renderUsers(inner, query);
}

// ---- agencies ------------------------------------------------------------------------

async function renderAgencies(root) {
    const res = await api.get('/api/v1/admin/agencies');
    let items = res.items;
    const table = h('div');
    const draw = () => {
        clear(
            table,
            h(
                'table',
                { class: 'table responsive' },
                h('caption', { class: 'visually-hidden', text: 'Agencies' }),
                h('thead', {}, h('tr', {}, ['Name', 'Kind', 'State', 'Change'].map((t) => h('th', { scope: 'col', text: t })))),
                h(
                    'tbody',
                    {},
                    items.map((a) => {
                        const toggle = h('button', {
                            type: 'button',
                            class: ['secondary', 'small', a.active && 'danger'],
                            text: a.active ? `Deactivate ${a.name}` : `Reactivate ${a.name}`,
                            on: {
                                click: async () => {
                                    if (a.active && !window.confirm(`Deactivate ${a.name}? All its users are signed out at once and cannot sign in until it is reactivated.`)) return;
                                    try {
                                        const up = await api.patch(`/api/v1/admin/agencies/${a.id}`, { active: !a.active, version: a.version });
                                        items = items.map((x) => (x.id === a.id ? up : x));
                                        ctx.agencies.set(up.id, up);
                                        draw();
                                    } catch (err) {
                                        window.alert(err.message);
                                    }
                                },
                            },
                        });
                        const rename = h('button', {
                            type: 'button',
                            class: 'secondary small',
                            text: `Rename ${a.name}`,
                            on: {
                                click: async () => {
                                    const name = window.prompt('New name of the agency', a.name);
                                    if (!name || name.trim() === a.name) return;
                                    try {
                                        const up = await api.patch(`/api/v1/admin/agencies/${a.id}`, { name: name.trim(), version: a.version });
                                        items = items.map((x) => (x.id === a.id ? up : x));
                                        ctx.agencies.set(up.id, up);
                                        draw();
                                    } catch (err) {
                                        window.alert(err.message);
                                    }
                                },
                            },
                        });
                        return h(
                            'tr',
                            { class: a.active ? null : 'is-inactive' },
                            h('th', { scope: 'row', 'data-label': 'Name', text: a.name }),
                            h('td', { 'data-label': 'Kind', text: label('agencyKind', a.kind) }),
                            h('td', { 'data-label': 'State', text: a.active ? 'Active' : 'Inactive' }),
                            h('td', { 'data-label': 'Change' }, h('div', { class: 'row-actions' }, rename, toggle)),
                        );
                    }),
                ),
            ),
        );
    };
    const name = h('input', { type: 'text', name: 'name', maxlength: '200', required: true });
    const kind = select(options('agencyKind'), 'cac', { name: 'kind' });
    const submit = h('button', { type: 'submit', text: 'Add agency' });
    const form = h(
        'form',
        { class: 'stack card', novalidate: true, 'aria-labelledby': 'new-agency' },
        h('h2', { id: 'new-agency', text: 'Add an agency' }),
        field('Name', name),
        field('Kind', kind, { hint: 'The kind decides default owners of protected details and whether two-step sign-in is required. It cannot be changed later.' }),
        h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        await busy(submit, async () => {
            try {
                const a = await api.create('/api/v1/admin/agencies', { name: name.value.trim(), kind: kind.value });
                items = [...items, a];
                ctx.agencies.set(a.id, a);
                form.reset();
                draw();
            } catch (err) {
                showFormError(form, err.status === 409 ? { ...err, message: 'An agency with this name exists already.' } : err);
            }
        });
    });
    draw();
    clear(root, table, form);
}

// ---- users ------------------------------------------------------------------------------

async function renderUsers(root, query) {
    const agencyFilter = select([['', 'All agencies'], ...[...ctx.agencies.values()].sort((a, b) => a.name.localeCompare(b.name)).map((a) => [a.id, a.name])], query.get('agency_id') ?? '', { name: 'agency_id' });
    const activeFilter = select([['', 'Active and inactive'], ['true', 'Active only'], ['false', 'Inactive only']], query.get('active') ?? '', { name: 'active' });
    const filters = h('form', { class: 'filters', 'aria-label': 'Filter users' }, field('Agency', agencyFilter), field('Show', activeFilter));
    const table = h('div');
    const more = h('div', { class: 'actions' });
    const secretBox = h('div', { 'aria-live': 'polite' });
    let items = [];
    const load = async (cursor) => {
        const res = await api.get(`/api/v1/admin/users${qs({ agency_id: agencyFilter.value, active: activeFilter.value, limit: 100, cursor })}`);
        items = cursor ? items.concat(res.items) : res.items;
        draw();
        clear(more, res.next ? h('button', { type: 'button', class: 'secondary', text: 'Show more users', on: { click: () => load(res.next) } }) : null);
    };
    const replace = (u) => {
        items = items.map((x) => (x.id === u.id ? { ...x, ...u } : x));
        draw();
    };
    const draw = () => {
        clear(
            table,
            h(
                'table',
                { class: 'table responsive' },
                h('caption', { class: 'visually-hidden', text: 'Users' }),
                h('thead', {}, h('tr', {}, ['Name', 'User name', 'Agency', 'Role', 'State', 'Two-step sign-in', 'Change'].map((t) => h('th', { scope: 'col', text: t })))),
                h('tbody', {}, items.map((u) => userRow(u))),
            ),
        );
    };
    const userRow = (u) => {
        const roleCtl = roleControl(u, replace);
        const act = async (fn) => {
            try {
                await fn();
            } catch (err) {
                window.alert(err.message);
            }
        };
        const buttons = [
            h('button', {
                type: 'button',
                class: ['secondary', 'small', u.active && 'danger'],
                text: u.active ? 'Deactivate' : 'Reactivate',
                'aria-label': `${u.active ? 'Deactivate' : 'Reactivate'} ${u.display_name}`,
                on: {
                    click: () =>
                        act(async () => {
                            if (u.active && !window.confirm(`Deactivate ${u.display_name}? They are signed out everywhere at once.`)) return;
                            replace(await api.patch(`/api/v1/admin/users/${u.id}`, { active: !u.active, version: u.version }));
                        }),
                },
            }),
            u.mfa_enabled
                ? h('button', {
                      type: 'button',
                      class: 'secondary small',
                      text: 'Reset two-step sign-in',
                      'aria-label': `Reset two-step sign-in of ${u.display_name}`,
                      on: {
                          click: () =>
                              act(async () => {
                                  if (!window.confirm(`Reset two-step sign-in of ${u.display_name}? They will have to set up an authenticator again.`)) return;
                                  replace(await api.post(`/api/v1/admin/users/${u.id}/reset-mfa`, {}));
                              }),
                      },
                  })
                : null,
            h('button', {
                type: 'button',
                class: 'secondary small',
                text: 'Reset password',
                'aria-label': `Reset password of ${u.display_name}`,
                on: {
                    click: () =>
                        act(async () => {
                            if (!window.confirm(`Reset the password of ${u.display_name}? They are signed out and must choose a new password with the one-time password shown next.`)) return;
                            const res = await api.post(`/api/v1/admin/users/${u.id}/reset-password`, {});
                            replace(res.user);
                            clear(
                                secretBox,
                                h(
                                    'div',
                                    { class: 'notice', role: 'alert' },
                                    h('p', {}, `One-time password for ${u.display_name} (${u.username}): `, h('code', { class: 'secret', text: res.one_time_password })),
                                    h('p', { text: 'Give it to them in person or by phone. It is shown only now.' }),
                                ),
                            );
                            secretBox.scrollIntoView({ block: 'nearest' });
                        }),
                },
            }),
        ];
        return h(
            'tr',
            { class: u.active ? null : 'is-inactive' },
            h('th', { scope: 'row', 'data-label': 'Name', text: u.display_name }),
            h('td', { 'data-label': 'User name', text: u.username }),
            h('td', { 'data-label': 'Agency', text: agencyName(u.agency_id) }),
            h('td', { 'data-label': 'Role' }, roleCtl),
            h('td', { 'data-label': 'State', text: `${u.active ? 'Active' : 'Inactive'}${u.locked ? ', locked' : ''}${u.must_change_password ? ', must change password' : ''}` }),
            h('td', { 'data-label': 'Two-step sign-in', text: u.mfa_enabled ? 'On' : 'Off' }),
            h('td', { 'data-label': 'Change' }, h('div', { class: 'row-actions' }, buttons)),
        );
    };
    for (const s of [agencyFilter, activeFilter]) s.addEventListener('change', () => load());

    // New user
    const username = h('input', { type: 'text', name: 'username', maxlength: '64', autocomplete: 'off', required: true });
    const display = h('input', { type: 'text', name: 'display_name', maxlength: '200', required: true });
    // No agency and no role is chosen for the admin: both are explicit
    // choices (an agency never changes later).
    const activeAgencies = [...ctx.agencies.values()].filter((a) => a.active).sort((a, b) => a.name.localeCompare(b.name));
    const agency = select([['', 'Choose an agency…'], ...activeAgencies.map((a) => [a.id, a.name])], '', { name: 'agency_id', required: true, 'aria-required': 'true' });
    const role = select([['', 'Choose a role…'], ...options('role')], '', { name: 'role', required: true, 'aria-required': 'true' });
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: '12', required: true });
    const mustChange = h('input', { type: 'checkbox', name: 'must_change_password', checked: true });
    const submit = h('button', { type: 'submit', text: 'Create user' });
    const form = h(
        'form',
        { class: 'stack card', novalidate: true, 'aria-labelledby': 'new-user' },
        h('h2', { id: 'new-user', text: 'Create a user' }),
        field('User name', username, { hint: 'Letters, digits and . _ @ - only. It never changes.' }),
        field('Full name', display),
        field('Agency', agency, { hint: 'A user’s agency never changes: make a new account when someone moves.' }),
        field('Role', role),
        field('Initial password', password, { hint: 'At least 12 characters.' }),
        h('label', { class: 'check' }, mustChange, ' They must choose their own password at first sign-in'),
        h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        const missing = !agency.value
            ? { field: 'agency_id', message: 'Choose the agency this person works for. It cannot be changed later.' }
            : !role.value
              ? { field: 'role', message: 'Choose what this person may do: member, interviewer, supervisor or administrator.' }
              : null;
        if (missing) {
            showFormError(form, missing);
            form.querySelector(`[name="${missing.field}"]`).focus();
            return;
        }
        await busy(submit, async () => {
            try {
                const u = await api.post('/api/v1/admin/users', {
                    username: username.value.trim(),
                    display_name: display.value.trim(),
                    agency_id: Number(agency.value),
                    role: role.value,
                    password: password.value,
                    must_change_password: mustChange.checked,
                });
                form.reset();
                mustChange.checked = true;
                items = [...items, u];
                draw();
                clear(secretBox, h('p', { class: 'success', role: 'status', text: `User ${u.username} was created.` }));
            } catch (err) {
                showFormError(form, err.status === 409 ? { ...err, message: 'This user name is taken.' } : err);
            }
        });
    });
    clear(root, filters, secretBox, table, more, form);
    await load();
}

// roleControl(u, replace) - the role of user u: picking another role sends
// nothing; "Save role" asks to confirm, naming the user and the new role,
// then saves (replace(updated user) redraws the row). WCAG 3.2.2: no
// change of context, and no change saved, on a mere selection.
function roleControl(u, replace) {
    const roleSel = select(options('role'), u.role, { name: 'role', 'aria-label': `Role of ${u.display_name}` });
    const save = h('button', { type: 'button', class: 'secondary small', text: 'Save role', 'aria-label': `Save role of ${u.display_name}`, disabled: true });
    const note = h('span', { class: 'hint', 'aria-live': 'polite' });
    roleSel.addEventListener('change', () => {
        const changed = roleSel.value !== u.role;
        save.disabled = !changed;
        note.textContent = changed ? `Not saved: still ${label('role', u.role)}.` : '';
    });
    save.addEventListener('click', async () => {
        const to = roleSel.value;
        if (to === u.role) return;
        if (!window.confirm(`Change the role of ${u.display_name} from ${label('role', u.role)} to ${label('role', to)}? It applies to their next request.`)) return;
        await busy(save, async () => {
            try {
                replace(await api.patch(`/api/v1/admin/users/${u.id}`, { role: to, version: u.version }));
            } catch (err) {
                window.alert(err.message);
                roleSel.value = u.role;
                note.textContent = '';
            }
        });
        save.disabled = roleSel.value === u.role;
    });
    return h('div', { class: 'role-control' }, roleSel, save, note);
}

// ---- account changes (supervisors) ----------------------------------------------------

async function renderAccountChanges(root) {
    if (myRole() !== 'supervisor' && myRole() !== 'admin') {
        navigate('#/cases');
        return;
    }
    const res = await api.get('/api/v1/account-changes?limit=100');
    // the accounts by name: the agency's active users (the directory)
    const dir = await api.get(`/api/v1/users${qs({ agency_id: myAgencyId(), limit: 500 })}`).catch(() => ({ items: [] }));
    const names = new Map(dir.items.map((u) => [u.id, u.display_name]));
    clear(
        root,
        h('h1', { text: 'Account changes in your agency' }),
        h('p', { class: 'hint', text: 'New accounts, role changes and reactivations in your agency, newest first. Tell an administrator if one looks wrong.' }),
        res.items.length
            ? h(
                  'table',
                  { class: 'table responsive' },
                  h('caption', { class: 'visually-hidden', text: 'Account changes' }),
                  h('thead', {}, h('tr', {}, ['When', 'By', 'Change', 'Account', 'Detail'].map((t) => h('th', { scope: 'col', text: t })))),
                  h(
                      'tbody',
                      {},
                      res.items.map((r) =>
                          h(
                              'tr',
                              {},
                              h('td', { 'data-label': 'When', text: dateTime(r.at) }),
                              h('td', { 'data-label': 'By', text: whoText(r) }),
                              h('td', { 'data-label': 'Change' }, h('code', { text: r.action })),
                              h('td', { 'data-label': 'Account', text: r.object_id ? (names.get(r.object_id) ?? 'an account that is no longer active') : '—' }),
                              h('td', { 'data-label': 'Detail', class: 'detail', text: detailText(r.detail) }),
                          ),
                      ),
                  ),
              )
            : h('p', { class: 'empty', text: 'No account changes yet.' }),
    );
}
