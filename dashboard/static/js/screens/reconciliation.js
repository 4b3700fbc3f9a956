// Reconciliation screen (Đối soát, issue 18 item 6): an agency's own dossier totals per site,
// procedure and month (uploaded by an editor token or the admin: Site, Procedure, Month,
// Received, Resolved) beside what the warehouse received; a row that differs opens our count on
// every day of that month, so the day the numbers were lost stands out (a day without any
// received dossier is marked). Agency and the opened row live in the URL (agency, row).

import { ApiError, getJson } from '../api.js';
import { t, fmtInt, fmtDate } from '../i18n.js';
import { h, kpiCard, table, tableCard } from '../ui.js';
import { canEdit, problemsCard, uploadForm } from './catalog.js';
import { agencyChooser } from './targets.js';

const API = '/api/v1/reconciliation';
// the last upload's answer, kept across the re-render it triggers (its refused rows are shown)
let lastUpload = null;

const diff = (n) => (n === null || n === undefined ? '—'
  : h('span', { class: n === 0 ? 'muted' : 'diff-bad', dataset: { role: 'diff' } }, n > 0 ? `+${fmtInt(n)}` : fmtInt(n)));

function daysCard(row) {
  const rows = row.days.map((d) => ({ ...d, key: d.date }));
  return h('section', { class: 'panel', dataset: { card: 'reconciliation-days' } },
    h('h2', {}, t('rc_days_title', { p: row.procedure, s: row.site, m: row.month })),
    table([
      { key: 'date', label: t('date'), format: (d) => fmtDate(d.date) },
      { key: 'received', label: t('rc_our_received'), num: true,
        format: (d) => (d.received ? fmtInt(d.received) : h('span', { class: 'diff-bad', dataset: { role: 'silent' } }, '0')) },
      { key: 'resolved', label: t('rc_our_resolved'), num: true, format: (d) => fmtInt(d.resolved) },
    ], rows));
}

export async function render(main, ctx) {
  const me = ctx.me;
  const agencies = me?.agencies ?? [];
  const asked = ctx.params.get('agency') ?? '';
  const agency = agencies.some((a) => a.id === asked) ? asked : me?.agency?.id ?? agencies.find((a) => !a.parent_id)?.id ?? '';
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_reconciliation')),
    h('section', { class: 'panel controls', dataset: { card: 'controls' } }, agencyChooser(me, agency, ctx, false)),
    body);
  if (!agency) { body.className = ''; body.replaceChildren(h('p', { class: 'muted' }, t('no_data'))); return; }
  const params = { agency };
  const answer = await getJson(API, params);
  if (!ctx.isCurrent()) return;
  const slot = h('div', { dataset: { role: 'upload-result' } });
  const upload = canEdit(me) ? uploadForm({
    id: 'reconciliation-upload', title: t('rc_upload'), path: API,
    extra: h('input', { type: 'hidden', name: 'agency', value: agency }),
    onDone: (done) => {
      lastUpload = { ...done, token: `${done.upload_id}:${done.imported}:${done.problem_count}` };
      ctx.update({ done: lastUpload.token, row: null });
    },
    onError: (e) => slot.replaceChildren(problemsCard('reconciliation-problems', e)),
  }) : null;
  const done = ctx.params.get('done');
  const parts = (done ?? '').split(':');
  const note = done ? h('p', { class: 'period-note', dataset: { role: 'done' } },
    t('rc_done', { n: parts[1], p: parts[2] })) : null;
  if (done && lastUpload?.token === done && lastUpload.problem_count) {
    slot.replaceChildren(problemsCard('reconciliation-problems', new ApiError(201, t('tg_refused_rows'), lastUpload)));
  }
  const rows = answer.rows.map((r) => ({ ...r, key: `${r.site}:${r.procedure}:${r.month}` }));
  const opened = rows.find((r) => r.key === ctx.params.get('row') && r.days) ?? null;
  const columns = [
    { key: 'site', label: t('site') },
    { key: 'procedure', label: t('service') },
    { key: 'month', label: t('rc_month') },
    { key: 'reported_received', label: t('rc_reported_received'), num: true, format: (r) => fmtInt(r.reported_received) },
    { key: 'received', label: t('rc_our_received'), num: true, format: (r) => fmtInt(r.received) },
    { key: 'received_diff', label: t('rc_diff'), num: true, format: (r) => diff(r.received_diff) },
    { key: 'reported_resolved', label: t('rc_reported_resolved'), num: true, format: (r) => fmtInt(r.reported_resolved) },
    { key: 'resolved', label: t('rc_our_resolved'), num: true, format: (r) => fmtInt(r.resolved) },
    { key: 'resolved_diff', label: t('rc_diff'), num: true, format: (r) => diff(r.resolved_diff) },
  ];
  body.className = '';
  body.replaceChildren(
    note, upload, slot,
    h('div', { class: 'kpis' },
      kpiCard({ id: 'received_diff', label: t('rc_total_received_diff'), value: fmtInt(answer.totals.received_diff) }),
      kpiCard({ id: 'resolved_diff', label: t('rc_total_resolved_diff'), value: fmtInt(answer.totals.resolved_diff) }),
      kpiCard({ id: 'differing_rows', label: t('rc_differing_rows'), value: fmtInt(answer.totals.differing_rows) })),
    h('p', { class: 'muted' }, t('rc_help')),
    tableCard({ id: 'reconciliation', title: t('rc_title'), columns, rows, exportPath: API, exportParams: params,
      onRow: (r) => (r.days ? ctx.update({ row: r.key }) : null) }),
    opened ? daysCard(opened) : null);
}

