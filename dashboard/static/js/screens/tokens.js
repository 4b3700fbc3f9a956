// Tokens screen (Mã truy cập, issue 18), for an editor token or the admin: the tokens of the
// subtree (never the tokens themselves: id, agency, name, role, state), a form that creates a
// token for an agency of the subtree — an editor makes viewer tokens only, the admin chooses —
// and shows it once, and revocation. The list re-reads the server after each change without
// leaving the screen, so the new token stays on screen until the user leaves.

import { getJson, send } from '../api.js';
import { t, fmtDateTime } from '../i18n.js';
import { h, errorBox, tableCard } from '../ui.js';

const API = '/api/v1/tokens';

export async function render(main, ctx) {
  const admin = ctx.me?.token_role === 'admin';
  const agencies = ctx.me?.agencies ?? [];
  const names = new Map(agencies.map((a) => [a.id, a.name]));
  const listSlot = h('div', { class: 'loading' }, t('loading'));
  const result = h('div', { dataset: { role: 'result' } });

  const refresh = async () => {
    const found = await getJson(API);
    if (!ctx.isCurrent()) return;
    listSlot.className = '';
    listSlot.replaceChildren(tableCard({
      id: 'token-list', title: t('tk_list'),
      rows: found.slice().reverse().map((x) => ({ ...x, key: x.id })),
      columns: [
        { key: 'id', label: t('ag_id') },
        { key: 'agency', label: t('rk_agency'), wrap: true, format: (r) => names.get(r.agency_id) ?? r.agency_id },
        { key: 'name', label: t('ag_name'), wrap: true },
        { key: 'role', label: t('tk_role'), format: (r) => t(`tk_role_${r.role}`) },
        { key: 'created_at', label: t('tk_created'), format: (r) => fmtDateTime(r.created_at) },
        { key: 'state', label: t('cn_status'),
          format: (r) => h('span', { class: `badge ${r.revoked ? 'silent' : 'connected'}` }, t(r.revoked ? 'tk_revoked' : 'tk_active')) },
        { key: 'actions', label: '', format: (r) => (r.revoked || (!admin && r.role !== 'viewer') ? '' : h('span', { class: 'tools' },
          h('button', { type: 'button', dataset: { revoke: r.id }, onclick: () => revoke(r.id) }, t('tk_revoke')))) },
      ],
    }));
  };

  const revoke = async (id) => {
    if (!window.confirm(t('tk_confirm_revoke', { id }))) return;
    try {
      await send('DELETE', `${API}/${encodeURIComponent(id)}`);
      result.replaceChildren(h('p', { class: 'period-note', dataset: { role: 'revoked' } }, t('tk_done_revoke', { id })));
      await refresh();
    } catch (e) { result.replaceChildren(errorBox(e.message)); }
  };

  const roles = admin ? ['viewer', 'editor'] : ['viewer'];
  const form = h('form', {
    class: 'controls',
    onsubmit: async (event) => {
      event.preventDefault();
      const v = Object.fromEntries(new FormData(form).entries());
      try {
        const made = await send('POST', API, { agency_id: v.agency_id, name: v.name, role: v.role });
        result.replaceChildren(h('section', { class: 'panel', dataset: { card: 'new-token' } },
          h('p', {}, t('tk_shown_once', { role: t(`tk_role_${made.role}`), agency: names.get(made.agency_id) ?? made.agency_id })),
          h('code', { dataset: { role: 'new-token' } }, made.token)));
        form.reset();
        await refresh();
      } catch (e) { result.replaceChildren(errorBox(e.message)); }
    },
  },
  h('label', {}, t('rk_agency'), h('select', { name: 'agency_id' },
    agencies.map((a) => h('option', { value: a.id, selected: a.id === ctx.me?.agency?.id }, a.name)))),
  h('label', {}, t('ag_name'), h('input', { name: 'name', placeholder: t('tk_name_hint') })),
  h('label', {}, t('tk_role'), h('select', { name: 'role' }, roles.map((r) => h('option', { value: r }, t(`tk_role_${r}`))))),
  h('button', { type: 'submit', class: 'primary' }, t('tk_create')));

  main.replaceChildren(h('h1', {}, t('screen_tokens')),
    h('section', { class: 'panel', dataset: { card: 'token-create' } }, h('h2', {}, t('tk_create_title')),
      h('p', { class: 'muted' }, t(admin ? 'tk_help_admin' : 'tk_help_editor')), form),
    result, listSlot);
  await refresh();
}
