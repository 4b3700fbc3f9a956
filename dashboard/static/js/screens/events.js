// Events, goals and funnels screen (Sự kiện và mục tiêu, issue 17 items 3 and 4): custom events,
// outbound links, downloads, site search terms and page titles (GET /api/v1/portal/events), the
// conversions of the site's goals (GET /api/v1/portal/goals, one site) and a funnel of ordered
// steps (GET /api/v1/portal/funnel). The funnel's steps live in the URL (`step`, repeated, as
// the API takes them: page:/PATTERN, event:NAME, event:NAME:KEY=VALUE, goal:ID); the form writes
// them there. A click on a goal row opens the portal screen filtered by that goal (goal:ID).
// Every number shown is the API's answer.

import { getJson } from '../api.js';
import { selection, controls, changeCell } from './period.js';
import { t, fmtInt, fmtPct, fmtDec, fmtDate } from '../i18n.js';
import { h, tableCard } from '../ui.js';
import { update } from '../state.js';

const API = '/api/v1/portal';
const REPORTS = ['event', 'outbound', 'download', 'search', 'title'];

function eventCard(kind, answer, q) {
  const columns = [
    { key: 'key', label: t(`ev_key_${kind}`), wrap: true, format: (r) => r.key || '/' },
    ...(kind === 'title' ? [{ key: 'title', label: t('ev_title'), wrap: true, format: (r) => r.title || '—' }] : []),
    { key: 'hits', label: t(`ev_hits_${kind}`), num: true, format: (r) => fmtInt(r.hits) },
    { key: 'unique_visitors', label: t('unique_visitors'), num: true, format: (r) => fmtInt(r.unique_visitors) },
    ...(kind === 'event' ? [{ key: 'value_sum', label: t('ev_value'), num: true, format: (r) => fmtDec(r.value_sum, 2) }] : []),
    { key: 'share_pct', label: t('share'), num: true, format: (r) => fmtPct(r.share_pct) },
    { key: 'change_pct', label: t('change'), num: true, format: (r) => changeCell(r.change_pct) },
  ];
  return tableCard({
    id: `ev-${kind}`, title: t(`ev_card_${kind}`), columns, rows: answer.rows,
    exportPath: `${API}/events`, exportParams: { ...q, by: kind, limit: 1000 },
  });
}

function goalsCard(answer, q) {
  if (!answer) {
    return h('section', { class: 'panel', dataset: { card: 'goals' } },
      h('h2', {}, t('ev_card_goals')), h('p', { class: 'muted' }, t('ev_goals_one_site')));
  }
  const card = tableCard({
    id: 'goals', title: t('ev_card_goals'), rows: answer.rows,
    exportPath: `${API}/goals`, exportParams: q,
    onRow: (row) => update({ filter: [`goal:${row.key}`], step: null }, 'portal'),
    columns: [
      { key: 'key', label: t('ev_goal'), wrap: true, format: (r) => r.name },
      { key: 'rule', label: t('ev_rule'), wrap: true,
        format: (r) => (r.page ? `${t('ev_page')} ${r.page}` : `${t('ev_event')} ${r.event}${r.property ? ` (${Object.entries(r.property).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`) },
      { key: 'converting_visits', label: t('ev_converting'), num: true, format: (r) => fmtInt(r.converting_visits) },
      { key: 'conversion_rate_pct', label: t('ev_rate'), num: true, format: (r) => fmtPct(r.conversion_rate_pct) },
      { key: 'change_pct', label: t('change'), num: true, format: (r) => changeCell(r.change_pct) },
      { key: 'conversion_rate_change_pp', label: `${t('ev_rate')} (${t('change')})`, num: true,
        format: (r) => changeCell(r.conversion_rate_change_pp, true) },
    ],
  });
  card.querySelector('h2').after(h('p', { class: 'muted', dataset: { role: 'goal-visits' } },
    t('ev_goal_visits', { n: fmtInt(answer.total.visits) })));
  return card;
}

function funnelForm(steps, ctx) {
  const area = h('textarea', { name: 'steps', rows: 4, cols: 48, placeholder: t('ev_steps_hint') }, steps.join('\n'));
  return h('form', {
    class: 'controls', dataset: { role: 'funnel-form' },
    onsubmit: (e) => {
      e.preventDefault();
      const list = area.value.split('\n').map((s) => s.trim()).filter(Boolean);
      ctx.update({ step: list.length ? list : null });
    },
  }, h('label', {}, t('ev_steps'), area), h('button', { type: 'submit', class: 'primary' }, t('ev_show_funnel')));
}

function funnelCard(steps, answer, q, ctx, problem) {
  const card = h('section', { class: 'panel', dataset: { card: 'funnel' } },
    h('div', { class: 'card-head' }, h('h2', {}, t('ev_card_funnel'))), funnelForm(steps, ctx));
  if (problem) card.append(h('p', { class: 'error', role: 'alert' }, problem));
  if (!answer) {
    if (!problem) card.append(h('p', { class: 'muted' }, t('ev_steps_hint')));
    return card;
  }
  const first = answer.steps[0]?.visits ?? 0;
  card.append(
    h('div', { class: 'funnel', dataset: { role: 'bars' } }, answer.steps.map((s) => h('div', { class: 'funnel-step' },
      h('span', {}, `${s.step}. ${s.page ?? s.event}`),
      h('span', { class: 'funnel-bar', style: `width:${first ? Math.max(2, (100 * s.visits) / first) : 2}%` }),
      h('span', { class: 'num' }, fmtInt(s.visits))))),
    tableCard({
      id: 'funnel-steps', title: t('ev_steps'), rows: answer.steps.map((s) => ({ ...s, key: String(s.step) })),
      exportPath: `${API}/funnel`, exportParams: { ...q, step: steps },
      columns: [
        { key: 'step', label: '#', num: true },
        { key: 'rule', label: t('ev_rule'), wrap: true,
          format: (s) => (s.page ? `${t('ev_page')} ${s.page}` : `${t('ev_event')} ${s.event}${s.property ? ` (${Object.entries(s.property).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`) },
        { key: 'visits', label: t('visits'), num: true, format: (s) => fmtInt(s.visits) },
        { key: 'dropoff', label: t('ev_dropoff'), num: true, format: (s) => fmtInt(s.dropoff) },
        { key: 'dropoff_pct', label: `${t('ev_dropoff')} (%)`, num: true, format: (s) => fmtPct(s.dropoff_pct) },
        { key: 'conversion_pct', label: t('ev_from_first'), num: true, format: (s) => fmtPct(s.conversion_pct) },
        { key: 'change_pct', label: t('change'), num: true, format: (s) => changeCell(s.change_pct) },
      ],
    }));
  return card;
}

export async function render(main, ctx) {
  const sites = ctx.sites;
  const sel = selection(ctx.params, sites, ctx.sites);
  const steps = ctx.params.getAll('step');
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_events')), controls(sel, sites, ctx), body);
  if (!sel.site) { body.replaceChildren(h('p', {}, t('no_data'))); return; }
  const q = { site: sel.site, from: sel.from, to: sel.to, compare: sel.compare };
  const single = !sel.site.includes(',');
  const funnelAsked = steps.length
    ? getJson(`${API}/funnel`, { ...q, step: steps }).then((a) => [a, null], (e) => [null, e.message])
    : Promise.resolve([null, null]);
  const [reports, goals, [funnel, problem]] = await Promise.all([
    Promise.all(REPORTS.map((by) => getJson(`${API}/events`, { ...q, by, limit: 20 }))),
    single ? getJson(`${API}/goals`, q) : Promise.resolve(null),
    funnelAsked,
  ]);
  if (!ctx.isCurrent()) return;
  const cards = REPORTS.map((kind, i) => eventCard(kind, reports[i], q));
  const first = reports[0];
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(first.period.from), b: fmtDate(first.period.to) }),
      first.compare_period ? ` ${t('compare_note', { a: fmtDate(first.compare_period.from), b: fmtDate(first.compare_period.to) })}` : ''),
    goalsCard(goals, q), funnelCard(steps, funnel, q, ctx, problem),
    h('div', { class: 'grid2' }, cards[0], cards[3]),
    h('div', { class: 'grid2' }, cards[1], cards[2]),
    cards[4]);
}
