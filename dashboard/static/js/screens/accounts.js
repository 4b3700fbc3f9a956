// Accounts screen (Tài khoản, issue 18): the current account lists of the chosen site(s) — by
// type (business, individual, one-stop officer), linked to the national portal — and the
// accounts new and active in the period with change, from GET /api/v1/accounts/summary (same
// selection as every indicator screen: site, agency, period, comparison in the URL). With one
// site chosen, its imports (newest first) and, for an editor or the admin, the import of a new
// account list (.xlsx or .xls; a refused file lists its problems row by row).

import { getJson } from '../api.js';
import { t, fmtInt, fmtPct, fmtDate, fmtDateTime } from '../i18n.js';
import { h, kpiCard, tableCard } from '../ui.js';
import { selection, controls } from './period.js';
import { canEdit, problemsCard, uploadForm } from './catalog.js';

const API = '/api/v1/accounts/summary';
const TYPES = ['business', 'individual', 'onestop_officer'];

export async function render(main, ctx) {
  const sel = selection(ctx.params, ctx.sites);
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_accounts')), controls(sel, ctx.sites, ctx), body);
  if (!sel.site) { body.className = ''; body.replaceChildren(h('p', { class: 'muted' }, t('no_data'))); return; }
  const q = { site: sel.site, from: sel.from, to: sel.to, compare: sel.compare };
  const single = !sel.site.includes(',');
  const path = `/api/v1/sites/${encodeURIComponent(sel.site)}/accounts`;
  const [answer, imports] = await Promise.all([
    getJson(API, q), single ? getJson(`${path}/imports`) : Promise.resolve(null),
  ]);
  if (!ctx.isCurrent()) return;
  const m = answer.metrics;
  const slot = h('div', { dataset: { role: 'upload-result' } });
  const upload = single && canEdit(ctx.me) ? uploadForm({
    id: 'accounts-upload', title: t('ac_import'), path,
    onDone: (done) => ctx.update({ done: `accounts:${done.import_id}` }),
    onError: (e) => slot.replaceChildren(problemsCard('accounts-problems', e)),
  }) : null;
  const done = ctx.params.get('done')?.startsWith('accounts:')
    ? h('p', { class: 'period-note', dataset: { role: 'done' } }, t('sv_done_accounts', { v: ctx.params.get('done').split(':')[1] }))
    : null;
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(answer.period.from), b: fmtDate(answer.period.to) }),
      answer.compare ? ` ${t('compare_note', { a: fmtDate(answer.compare.from), b: fmtDate(answer.compare.to) })}` : ''),
    h('div', { class: 'kpis', dataset: { card: 'kpis' } },
      kpiCard({ id: 'accounts', label: t('ac_accounts'), value: fmtInt(answer.accounts) }),
      TYPES.map((k) => kpiCard({ id: k, label: t(`ac_${k}`), value: fmtInt(answer.by_type[k]) })),
      kpiCard({ id: 'linked_national', label: t('ac_linked_national'),
        value: `${fmtInt(answer.linked_national)} (${fmtPct(answer.linked_national_pct)})` }),
      ['new_in_period', 'active_in_period'].map((k) => kpiCard({
        id: k, label: t(`ac_${k}`), value: fmtInt(m[k].value), change: m[k].change_pct, previous: fmtInt(m[k].previous),
      }))),
    tableCard({
      id: 'accounts-by-type', title: t('ac_by_type'), exportPath: API, exportParams: q,
      rows: TYPES.map((k) => ({ key: k, type: t(`ac_${k}`), count: answer.by_type[k] })),
      columns: [
        { key: 'type', label: t('ac_type'), wrap: true },
        { key: 'count', label: t('ac_accounts'), num: true, format: (r) => fmtInt(r.count) },
        { key: 'share', label: t('share'), num: true,
          format: (r) => fmtPct(answer.accounts ? (r.count * 100) / answer.accounts : null) },
      ],
    }),
    done, upload, slot,
    imports ? tableCard({
      id: 'account-imports', title: t('ac_imports'),
      rows: imports.imports.map((i) => ({ ...i, key: String(i.import_id) })),
      columns: [
        { key: 'import_id', label: t('ac_import_id'), num: true, format: (r) => fmtInt(r.import_id) },
        { key: 'imported_at', label: t('sv_imported_at'), format: (r) => fmtDateTime(r.imported_at) },
        { key: 'file_name', label: t('sv_file'), wrap: true },
        { key: 'rows', label: t('sv_rows'), num: true, format: (r) => fmtInt(r.rows) },
      ],
    }) : null);
}
