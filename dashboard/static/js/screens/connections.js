// Connections screen (Kết nối, DESIGN §3): for each site the token may see, its status
// (connected / silent / never seen) as a coloured badge, its last event in the user's timezone,
// its usual gap and the gaps of the last 30 days, from GET /api/v1/connections. Filters (status,
// agency) live in the URL; the counts per status at the top cover every status of the chosen
// agency, the table only the chosen status (the API's own `status=` filter, done here on the
// one answer so the counts and the rows come from the same reading).

import { getJson } from '../api.js';
import { t, fmtInt, fmtDec, fmtDateTime } from '../i18n.js';
import { h, kpiCard, tableCard } from '../ui.js';

const API = '/api/v1/connections';
export const STATUSES = ['connected', 'silent', 'never_seen'];

function filters(ctx, status, agency, agencies) {
  return h('section', { class: 'panel controls', dataset: { card: 'connection-filters' } },
    h('label', {}, t('cn_status'),
      h('select', { name: 'status', onchange: (e) => ctx.update({ status: e.target.value === 'all' ? null : e.target.value }) },
        ['all', ...STATUSES].map((s) => h('option', { value: s, selected: s === status }, t(`cn_${s}`))))),
    h('label', {}, t('cn_agency'),
      h('select', { name: 'agency', onchange: (e) => ctx.update({ agency: e.target.value || null }) },
        h('option', { value: '', selected: !agency }, t('cn_all_agencies')),
        agencies.map((a) => h('option', { value: a.id, selected: a.id === agency }, a.name)))));
}

function gapList(gaps) {
  if (!gaps.length) return '—';
  const total = gaps.reduce((n, g) => n + g.hours, 0);
  return h('details', {},
    h('summary', {}, `${fmtInt(gaps.length)} · ${fmtInt(total)} ${t('hours_short')}`),
    h('ul', {}, gaps.map((g) => h('li', {}, `${fmtDateTime(g.from)} → ${fmtDateTime(g.to)} (${fmtInt(g.hours)} ${t('hours_short')})`))));
}

export async function render(main, ctx) {
  const agencies = (ctx.me?.agencies ?? []).filter((a) => a.sites.length > 0);
  // an agency the token does not know is sent as asked: the API refuses it with its message
  const agency = ctx.params.get('agency') ?? '';
  const status = STATUSES.includes(ctx.params.get('status')) ? ctx.params.get('status') : 'all';
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_connections')), filters(ctx, status, agency, agencies), body);
  const answer = await getJson(API, { agency });
  if (!ctx.isCurrent()) return;
  const names = new Map(ctx.sites.map((s) => [s.id, s.name]));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, answer.sites.filter((r) => r.status === s).length]));
  const rows = answer.sites.filter((r) => status === 'all' || r.status === status).map((r) => ({ ...r, key: r.site }));
  body.className = '';
  body.replaceChildren(
    h('div', { class: 'kpis', dataset: { card: 'kpis' } },
      STATUSES.map((s) => kpiCard({ id: s, label: t(`cn_${s}`), value: fmtInt(counts[s]) }))),
    h('p', { class: 'period-note', dataset: { role: 'checked' } }, t('cn_checked', { t: fmtDateTime(answer.now) })),
    tableCard({
      id: 'connections', title: t('cn_sites'), rows,
      exportPath: API, exportParams: { agency, status: status === 'all' ? null : status },
      columns: [
        { key: 'site', label: t('site'), wrap: true, format: (r) => names.get(r.site) ?? r.site },
        { key: 'status', label: t('cn_status'), format: (r) => h('span', { class: `badge ${r.status}` }, t(`cn_${r.status}`)) },
        { key: 'last_event', label: t('cn_last_event'), format: (r) => fmtDateTime(r.last_event) },
        { key: 'since', label: t('cn_since'), num: true,
          format: (r) => (r.seconds_since_last_event === null ? '—' : fmtDec(r.seconds_since_last_event / 3600, 1)) },
        { key: 'usual_gap_hours', label: t('cn_usual_gap'), num: true, format: (r) => fmtInt(r.usual_gap_hours) },
        { key: 'gaps', label: t('cn_gaps'), format: (r) => gapList(r.gaps) },
      ],
    }));
}
