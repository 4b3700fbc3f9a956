// Contacts of an agency (Đầu mối liên hệ, issue 18 item 6), a card of the agencies screen: who
// gets the lost-connection e-mails of the agency's sites (and of units below it without
// contacts of their own), from GET /api/v1/agencies/{id}/contacts; an editor adds and removes
// them. The card also downloads the draft letter "V/v đôn đốc kết nối …" (DOCX) about the
// agency's silent sites.

import { download, getJson, send } from '../api.js';
import { t } from '../i18n.js';
import { h, errorBox, table } from '../ui.js';
import { canEdit } from './catalog.js';

export async function contactsCard(ctx, agencies) {
  if (!agencies.length) return null;
  const chosen = agencies.some((a) => a.id === ctx.params.get('contacts')) ? ctx.params.get('contacts') : (ctx.me?.agency?.id ?? agencies[0].id);
  const path = `/api/v1/agencies/${encodeURIComponent(chosen)}/contacts`;
  const contacts = await getJson(path);
  const slot = h('div', { dataset: { role: 'contacts-result' } });
  const refused = (e) => slot.replaceChildren(errorBox(e.message));
  const editor = canEdit(ctx.me);
  const form = editor ? h('form', {
    class: 'controls',
    onsubmit: async (event) => {
      event.preventDefault();
      const v = Object.fromEntries(new FormData(form).entries());
      try {
        await send('POST', path, { name: v.name, email: v.email, title: v.title, silence_alerts: v.alerts === 'on' });
        ctx.update({ contacts: chosen, done: null, saved: Date.now() });
      } catch (e) { refused(e); }
    },
  },
  h('label', {}, t('ag_name'), h('input', { name: 'name' })),
  h('label', {}, t('ct_email'), h('input', { name: 'email', type: 'email', required: true })),
  h('label', {}, t('ct_title'), h('input', { name: 'title' })),
  h('label', {}, h('input', { type: 'checkbox', name: 'alerts', checked: true }), t('ct_alerts')),
  h('button', { type: 'submit', class: 'primary' }, t('ct_add'))) : null;
  const remove = async (id) => {
    try {
      await send('DELETE', `${path}/${encodeURIComponent(id)}`);
      ctx.update({ contacts: chosen, saved: Date.now() });
    } catch (e) { refused(e); }
  };
  return h('section', { class: 'panel', dataset: { card: 'contacts' } },
    h('div', { class: 'card-head' }, h('h2', {}, t('ct_title_card')),
      h('div', { class: 'tools' }, h('button', {
        type: 'button', dataset: { letter: chosen },
        onclick: () => download(`/api/v1/agencies/${encodeURIComponent(chosen)}/connection-letter.docx`, {}, 'docx').catch(refused),
      }, t('ct_letter')))),
    h('label', {}, t('ag_agency'), h('select', { name: 'contacts', onchange: (e) => ctx.update({ contacts: e.target.value }) },
      agencies.map((a) => h('option', { value: a.id, selected: a.id === chosen }, a.name)))),
    table([
      { key: 'name', label: t('ag_name'), wrap: true, format: (r) => r.name || '—' },
      { key: 'email', label: t('ct_email') },
      { key: 'title', label: t('ct_title'), wrap: true, format: (r) => r.title || '—' },
      { key: 'silence_alerts', label: t('ct_alerts'), format: (r) => t(r.silence_alerts ? 'ct_yes' : 'ct_no') },
      { key: 'actions', label: '', format: (r) => (editor ? h('button', { type: 'button', dataset: { removeContact: r.id }, onclick: () => remove(r.id) }, t('rs_delete')) : '') },
    ], contacts.map((c) => ({ ...c, key: c.id }))),
    form, slot);
}
