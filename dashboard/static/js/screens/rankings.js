// Rankings screen (Xếp hạng, DESIGN §3, issue 18): ministries against ministries, provinces
// against provinces (the admin), and at every level the children of an agency (group=children,
// agency=, kind=: a province's departments or communes, a ministry's units), by any indicator of
// GET /api/v1/rankings. An agency token ranks inside its subtree (its own agency's children by
// default) and sees its own rank among its peers (GET /api/v1/rankings/own: no peer named).
// Every choice lives in the URL (metric, group, agency, kind, order, period, comparison), so a
// ranking is bookmarkable; the bar chart reads as the same table.

import { getJson } from '../api.js';
import { t, fmtInt, fmtPct, fmtDate, fmtDays } from '../i18n.js';
import { h, chartCard } from '../ui.js';
import { rankChart } from '../charts.js';
import { selection, controls, changeCell } from './period.js';

const API = '/api/v1/rankings';
const FIRST = ['visits', 'pageviews', 'online_dossier_rate', 'on_time_rate'];
// every other metric of the DVC (§3.II) and one-stop (§3.III) overviews, as the API offers them
const DOSSIER_METRICS = [
  'submitted', 'received_online', 'received_total', 'received_all_channels', 'services_online_pct', 'online_rate_pct',
  'avg_processing_time_s', 'l4_services_online_pct', 'l3_services_online_pct', 'l4_online_rate_pct',
  'l3_online_rate_pct', 'resolved', 'returned_on_time', 'on_time_rate_pct', 'overdue_open',
  'submissions', 'submissions_l4', 'submissions_l3', 'submissions_per_pageview_pct',
  'l4_services_with_dossiers', 'l3_services_with_dossiers', 'l4_services_with_dossiers_pct',
  'l4_services_pct', 'l3_services_with_dossiers_pct', 'l3_services_pct',
];
export const METRICS = [...FIRST, ...DOSSIER_METRICS];
const RATES = new Set(['online_dossier_rate', 'on_time_rate', ...DOSSIER_METRICS.filter((m) => m.endsWith('_pct'))]);
const GROUPS = ['provinces', 'ministries', 'children'];
const KINDS = ['', 'department', 'commune', 'other'];
export const label = (m) => (FIRST.includes(m) ? t(`rk_${m}`) : t(`m_${m}`));
export const formatOf = (m) => (RATES.has(m) ? fmtPct : m === 'avg_processing_time_s' ? fmtDays : fmtInt);
const ORDERS = ['desc', 'asc'];
const DEFAULT_LIMIT = 100;
const BAR_HEIGHT = 28;

const pick = (params, key, allowed) => (allowed.includes(params.get(key)) ? params.get(key) : allowed[0]);

/** The ranking choices from the URL, bad values replaced by the defaults. An agency token
 * ranks its own agency's children unless the URL asks otherwise (a group it may not see is
 * kept, so the API refuses it and the screen says so). */
function choices(params, me) {
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  const agencyToken = me?.role === 'agency';
  const asked = params.get('group');
  const group = GROUPS.includes(asked) ? asked : params.get('agency') || agencyToken ? 'children' : GROUPS[0];
  const parents = (me?.agencies ?? []).filter((a) => (me?.agencies ?? []).some((c) => c.parent_id === a.id));
  const agency = group === 'children' ? params.get('agency') || me?.agency?.id || parents[0]?.id || '' : '';
  return {
    metric: pick(params, 'metric', METRICS),
    group, agency, parents,
    kind: KINDS.includes(params.get('kind')) ? params.get('kind') : '',
    order: pick(params, 'order', ORDERS),
    limit: Number.isFinite(limit) && limit >= 1 && limit <= 1000 ? limit : DEFAULT_LIMIT,
  };
}

function choiceControls(c, ctx) {
  const select = (name, values, current, text, labelOf = (v) => t(`rk_${v}`)) => h('label', {}, text,
    h('select', { name, onchange: (e) => ctx.update({ [name]: e.target.value }) },
      values.map((v) => h('option', { value: v, selected: v === current }, labelOf(v)))));
  const agencyToken = ctx.me?.role === 'agency';
  const groups = agencyToken && c.group === 'children' ? ['children'] : agencyToken ? [c.group, 'children'] : GROUPS;
  const chosen = (ctx.me?.agencies ?? []).find((a) => a.id === c.agency) ?? { id: c.agency, name: c.agency };
  const parents = c.parents.some((a) => a.id === c.agency) || !c.agency ? c.parents : [chosen, ...c.parents];
  return h('section', { class: 'panel controls', dataset: { card: 'ranking-choices' } },
    select('metric', METRICS, c.metric, t('rk_metric'), label),
    select('group', groups, c.group, t('rk_group')),
    c.group === 'children' ? h('label', {}, t('rk_parent'),
      h('select', { name: 'agency', onchange: (e) => ctx.update({ agency: e.target.value, group: 'children' }) },
        parents.map((a) => h('option', { value: a.id, selected: a.id === c.agency }, a.name)))) : null,
    c.group === 'children' ? select('kind', KINDS, c.kind, t('rk_kind'), (k) => (k ? t(`kind_${k}`) : t('rk_all_kinds'))) : null,
    select('order', ORDERS, c.order, t('rk_order')));
}

/** The token's own rank among its peers (an agency token only). */
async function ownCard(c, sel, ctx) {
  if (ctx.me?.role !== 'agency') return null;
  const own = await getJson(`${API}/own`, { metric: c.metric, order: c.order, from: sel.from, to: sel.to, compare: sel.compare });
  const fmt = formatOf(c.metric);
  const rate = RATES.has(c.metric);
  const text = own.rank === null
    ? t(`rk_own_${own.reason ?? 'no_data'}`)
    : t('rk_own', { rank: fmtInt(own.rank), of: fmtInt(own.of), peers: t(`rk_peers_${own.peers}`) });
  return h('section', { class: 'panel', dataset: { card: 'own-rank' } },
    h('h2', {}, t('rk_own_title', { name: own.name })),
    h('p', { dataset: { role: 'own-rank' } }, text),
    own.rank === null ? null : h('p', { class: 'muted', dataset: { role: 'own-value' } },
      `${label(c.metric)}: ${fmt(own.value)} · ${t('change')}: ${changeCell(rate ? own.change_pp : own.change_pct, rate)}`));
}

function notes(answer, names) {
  const list = (ids) => ids.map((id) => names.get(id) ?? id).join(', ');
  return h('div', { class: 'notes', dataset: { role: 'notes' } },
    answer.without_data.length
      ? h('p', { dataset: { role: 'without-data' } }, t('rk_without_data', { list: list(answer.without_data) })) : null,
    answer.without_sites.length
      ? h('p', { dataset: { role: 'without-sites' } }, t('rk_without_sites', { list: list(answer.without_sites) })) : null);
}

export async function render(main, ctx) {
  const c = choices(ctx.params, ctx.me);
  const sel = selection(ctx.params, ctx.sites);
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_rankings')), choiceControls(c, ctx),
    controls(sel, ctx.sites, ctx, { withSite: false }), body);
  const scope = c.group === 'children' ? { agency: c.agency, kind: c.kind } : { group: c.group };
  const q = { metric: c.metric, ...scope, order: c.order, limit: c.limit, from: sel.from, to: sel.to, compare: sel.compare };
  const [answer, own] = await Promise.all([getJson(API, q), ownCard(c, sel, ctx)]);
  if (!ctx.isCurrent()) return;
  const rate = RATES.has(c.metric);
  const fmt = formatOf(c.metric);
  const rows = answer.rows.map((r) => ({ ...r, key: r.agency }));
  const names = new Map((ctx.me?.agencies ?? []).map((a) => [a.id, a.name]));
  const title = c.group === 'children'
    ? t('rk_title_children', { p: answer.parent?.name ?? c.agency, m: label(c.metric) })
    : t('rk_title', { g: t(`rk_${c.group}`), m: label(c.metric) });
  const card = chartCard({
    id: 'ranking', title, rows, exportPath: API, exportParams: q,
    columns: [
      { key: 'rank', label: t('rk_rank'), num: true, format: (r) => fmtInt(r.rank) },
      { key: 'name', label: t('rk_agency'), wrap: true },
      { key: 'sites', label: t('rk_sites'), num: true, format: (r) => fmtInt(r.sites) },
      { key: 'value', label: label(c.metric), num: true, format: (r) => fmt(r.value) },
      { key: 'previous', label: t('comparison'), num: true, format: (r) => fmt(r.previous) },
      { key: 'change', label: t('change'), num: true, format: (r) => changeCell(rate ? r.change_pp : r.change_pct, rate) },
    ],
    draw: (el) => {
      el.style.height = `${Math.max(200, rows.length * BAR_HEIGHT + 48)}px`;
      return rankChart(el, {
        categories: rows.map((r) => `${r.rank}. ${r.name}`), values: rows.map((r) => r.value),
        name: label(c.metric), formatter: fmt,
      });
    },
    mapClass: 'rank',
  });
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(answer.period.from), b: fmtDate(answer.period.to) }),
      answer.comparison ? ` ${t('compare_note', { a: fmtDate(answer.comparison.from), b: fmtDate(answer.comparison.to) })}` : ''),
    own, card, notes(answer, names));
  card.draw();
}
