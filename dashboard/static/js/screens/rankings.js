// Rankings screen (Xếp hạng, DESIGN §3): ministries against ministries, provinces against
// provinces, by visits, pageviews, online dossier rate or on-time rate, from GET
// /api/v1/rankings (admin token). Every choice lives in the URL (metric, group, order, period,
// comparison), so a ranking is bookmarkable; the bar chart reads as the same table.

import { getJson } from '../api.js';
import { t, fmtInt, fmtPct, fmtDate } from '../i18n.js';
import { h, chartCard } from '../ui.js';
import { rankChart } from '../charts.js';
import { selection, controls, changeCell } from './period.js';

const API = '/api/v1/rankings';
export const METRICS = ['visits', 'pageviews', 'online_dossier_rate', 'on_time_rate'];
const RATES = new Set(['online_dossier_rate', 'on_time_rate']);
const GROUPS = ['provinces', 'ministries'];
const ORDERS = ['desc', 'asc'];
const DEFAULT_LIMIT = 100;
const BAR_HEIGHT = 28;

const pick = (params, key, allowed) => (allowed.includes(params.get(key)) ? params.get(key) : allowed[0]);

/** The ranking choices from the URL, bad values replaced by the defaults. */
function choices(params) {
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  return {
    metric: pick(params, 'metric', METRICS),
    group: pick(params, 'group', GROUPS),
    order: pick(params, 'order', ORDERS),
    limit: Number.isFinite(limit) && limit >= 1 && limit <= 1000 ? limit : DEFAULT_LIMIT,
  };
}

function choiceControls(c, ctx) {
  const select = (name, values, current, label) => h('label', {}, label,
    h('select', { name, onchange: (e) => ctx.update({ [name]: e.target.value }) },
      values.map((v) => h('option', { value: v, selected: v === current }, t(`rk_${v}`)))));
  return h('section', { class: 'panel controls', dataset: { card: 'ranking-choices' } },
    select('metric', METRICS, c.metric, t('rk_metric')),
    select('group', GROUPS, c.group, t('rk_group')),
    select('order', ORDERS, c.order, t('rk_order')));
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
  const c = choices(ctx.params);
  const sel = selection(ctx.params, ctx.sites);
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_rankings')), choiceControls(c, ctx),
    controls(sel, ctx.sites, ctx, { withSite: false }), body);
  const q = { metric: c.metric, group: c.group, order: c.order, limit: c.limit, from: sel.from, to: sel.to, compare: sel.compare };
  const answer = await getJson(API, q);
  if (!ctx.isCurrent()) return;
  const rate = RATES.has(c.metric);
  const fmt = rate ? fmtPct : fmtInt;
  const rows = answer.rows.map((r) => ({ ...r, key: r.agency }));
  const names = new Map((ctx.me?.agencies ?? []).map((a) => [a.id, a.name]));
  const title = t('rk_title', { g: t(`rk_${c.group}`), m: t(`rk_${c.metric}`) });
  const card = chartCard({
    id: 'ranking', title, rows, exportPath: API, exportParams: q,
    columns: [
      { key: 'rank', label: t('rk_rank'), num: true, format: (r) => fmtInt(r.rank) },
      { key: 'name', label: t('rk_agency'), wrap: true },
      { key: 'sites', label: t('rk_sites'), num: true, format: (r) => fmtInt(r.sites) },
      { key: 'value', label: t(`rk_${c.metric}`), num: true, format: (r) => fmt(r.value) },
      { key: 'previous', label: t('comparison'), num: true, format: (r) => fmt(r.previous) },
      { key: 'change', label: t('change'), num: true, format: (r) => changeCell(rate ? r.change_pp : r.change_pct, rate) },
    ],
    draw: (el) => {
      el.style.height = `${Math.max(200, rows.length * BAR_HEIGHT + 48)}px`;
      return rankChart(el, {
        categories: rows.map((r) => `${r.rank}. ${r.name}`), values: rows.map((r) => r.value),
        name: t(`rk_${c.metric}`), formatter: fmt,
      });
    },
    mapClass: 'rank',
  });
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(answer.period.from), b: fmtDate(answer.period.to) }),
      answer.comparison ? ` ${t('compare_note', { a: fmtDate(answer.comparison.from), b: fmtDate(answer.comparison.to) })}` : ''),
    card, notes(answer, names));
  card.draw();
}
