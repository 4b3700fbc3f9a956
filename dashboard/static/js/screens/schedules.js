// Scheduled reports screen (Báo cáo định kỳ, issue 18 item 5): the e-mail schedules of the
// token's subtree (an agency's sites or one site; weekly, monthly or quarterly; the addresses
// and the official forms attached), and the e-mail log (sent, waiting for a retry, failed,
// with the attempts and the last error). An editor token (or the admin) also creates a
// schedule, sends a period now and deletes a schedule; the server checks the subtree again.

import { getJson, send } from '../api.js';
import { t, fmtInt, fmtDate, fmtDateTime } from '../i18n.js';
import { h, errorBox, tableCard } from '../ui.js';
import { canEdit } from './catalog.js';

const API = '/api/v1/report-schedules';
const PERIODS = ['weekly', 'monthly', 'quarterly'];
const FORMS = ['resolution', 'sources', 'online-services', 'quarterly'];

function createForm(ctx, done) {
  const agencies = ctx.me?.agencies ?? [];
  const scopes = [
    ...agencies.map((a) => [`agency:${a.id}`, `${t('rs_agency_scope')}: ${a.name}`]),
    ...ctx.sites.map((s) => [`site:${s.id}`, `${t('site')}: ${s.name}`]),
  ];
  const form = h('form', {
    class: 'controls',
    onsubmit: async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const [kind, id] = String(data.get('scope')).split(/:(.*)/s);
      const body = {
        [kind === 'agency' ? 'agency_id' : 'site']: id,
        period: data.get('period'),
        recipients: String(data.get('recipients')),
        forms: data.getAll('forms'),
      };
      try {
        const made = await send('POST', API, body);
        await done(t('rs_done_created', { id: made.id }));
      } catch (e) { await done(null, e); }
    },
  },
  h('label', {}, t('rs_scope'), h('select', { name: 'scope' }, scopes.map(([v, text]) => h('option', { value: v }, text)))),
  h('label', {}, t('rs_period'), h('select', { name: 'period' }, PERIODS.map((p) => h('option', { value: p }, t(`rs_${p}`))))),
  h('label', {}, t('rs_recipients'), h('input', { name: 'recipients', required: true, placeholder: 'a@so.gov.vn, b@ubnd.gov.vn', size: 40 })),
  h('fieldset', { class: 'checks' }, h('legend', {}, t('rs_forms')),
    FORMS.map((f) => h('label', {}, h('input', { type: 'checkbox', name: 'forms', value: f, checked: f === 'resolution' || f === 'sources' }), t(`rs_form_${f}`)))),
  h('button', { type: 'submit', class: 'primary' }, t('rs_create')));
  return h('section', { class: 'panel', dataset: { card: 'schedule-create' } }, h('h2', {}, t('rs_create_title')),
    h('p', { class: 'muted' }, t('rs_help')), form);
}

export async function render(main, ctx) {
  const editor = canEdit(ctx.me);
  const agencyNames = new Map((ctx.me?.agencies ?? []).map((a) => [a.id, a.name]));
  const siteNames = new Map(ctx.sites.map((s) => [s.id, s.name]));
  const result = h('div', { dataset: { role: 'result' } });
  const lists = h('div', { class: 'loading' }, t('loading'));

  // the lists are read again first, so the message appears with the lists that show it
  const say = async (message, e = null) => {
    if (!e) await refresh();
    result.replaceChildren(e ? errorBox(e.message) : h('p', { class: 'period-note', dataset: { role: 'done' } }, message));
  };

  const act = async (method, path, message) => {
    try {
      const answer = await send(method, path, method === 'POST' ? {} : null);
      const text = method === 'POST'
        ? t(answer.status === 'sent' ? 'rs_done_sent' : 'rs_done_queued', { status: t(`rs_status_${answer.status}`), error: answer.last_error ?? '' })
        : message;
      await say(text);
    } catch (e) { await say(null, e); }
  };

  const refresh = async () => {
    const [schedules, deliveries] = await Promise.all([getJson(API), getJson('/api/v1/report-deliveries', { limit: 50 })]);
    if (!ctx.isCurrent()) return;
    lists.className = '';
    lists.replaceChildren(
      tableCard({
        id: 'schedules', title: t('rs_list'),
        rows: schedules.map((s) => ({ ...s, key: s.id })),
        columns: [
          { key: 'scope', label: t('rs_scope'), wrap: true,
            format: (r) => (r.agency_id ? agencyNames.get(r.agency_id) ?? r.agency_id : siteNames.get(r.site) ?? r.site) },
          { key: 'period', label: t('rs_period'), format: (r) => t(`rs_${r.period}`) },
          { key: 'recipients', label: t('rs_recipients'), wrap: true, format: (r) => r.recipients.join(', ') },
          { key: 'forms', label: t('rs_forms'), wrap: true, format: (r) => r.forms.map((f) => t(`rs_form_${f}`)).join('; ') },
          { key: 'id', label: t('ag_id') },
          { key: 'actions', label: '', format: (r) => (!editor ? '' : h('span', { class: 'tools' },
            h('button', { type: 'button', dataset: { sendNow: r.id }, onclick: () => act('POST', `${API}/${encodeURIComponent(r.id)}/send-now`) }, t('rs_send_now')),
            h('button', { type: 'button', dataset: { remove: r.id },
              onclick: () => window.confirm(t('rs_confirm_delete', { id: r.id })) && act('DELETE', `${API}/${encodeURIComponent(r.id)}`, t('rs_done_deleted', { id: r.id })) }, t('rs_delete')))) },
        ],
      }),
      tableCard({
        id: 'deliveries', title: t('rs_log'),
        rows: deliveries.map((d) => ({ ...d, key: d.id })),
        columns: [
          { key: 'kind', label: t('rs_kind'), format: (r) => t(`rs_kind_${r.kind}`) },
          { key: 'subject', label: t('rs_subject'), wrap: true, format: (r) => r.subject || '—' },
          { key: 'period', label: t('rs_period'), format: (r) => (r.period ? `${fmtDate(r.period.from)} – ${fmtDate(r.period.to)}` : '—') },
          { key: 'status', label: t('cn_status'),
            format: (r) => h('span', { class: `badge ${r.status === 'sent' ? 'connected' : r.status === 'failed' ? 'silent' : 'never_seen'}` }, t(`rs_status_${r.status}`)) },
          { key: 'attempts', label: t('rs_attempts'), num: true, format: (r) => fmtInt(r.attempts) },
          { key: 'sent_at', label: t('rs_sent_at'), format: (r) => fmtDateTime(r.sent_at) },
          { key: 'last_error', label: t('rs_last_error'), wrap: true, format: (r) => r.last_error ?? '—' },
        ],
      }));
  };

  main.replaceChildren(h('h1', {}, t('screen_schedules')),
    editor ? createForm(ctx, say) : null, result, lists);
  await refresh();
}
