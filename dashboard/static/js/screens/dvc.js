// Public-service portal screen (Cổng dịch vụ công, DESIGN §3.II): all twelve indicators from
// /api/v1/dvc/overview; II.8 from /api/v1/dvc/timeseries: viewers and visitors per day (people,
// as seed 000 defines it, issue 16), with pageviews and visits; the official forms' downloads
// (forms.js).

import { getJson } from '../api.js';
import { t, fmtInt, fmtDate } from '../i18n.js';
import { h, chartCard } from '../ui.js';
import { lineChart } from '../charts.js';
import { selection, controls } from './period.js';
import { metricCards, metricsTable, unknownProcedures } from './indicators.js';
import { formsCard } from './forms.js';

const CARDS = [
  'pageviews', 'submissions', 'submissions_l4', 'submissions_l3', 'submissions_per_pageview_pct',
  'l4_services_with_dossiers', 'l3_services_with_dossiers', 'l4_services_with_dossiers_pct',
  'l4_services_pct', 'l3_services_with_dossiers_pct', 'l3_services_pct',
];

export async function render(main, ctx) {
  const typed = ctx.sites.filter((s) => s.type === 'dvc');
  const sites = typed.length ? typed : ctx.sites;
  const sel = selection(ctx.params, sites, ctx.sites);
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_dvc')), controls(sel, sites, ctx), body);
  if (!sel.site) { body.replaceChildren(h('p', {}, t('no_data'))); return; }
  const q = { site: sel.site, from: sel.from, to: sel.to, compare: sel.compare };
  const [overview, days] = await Promise.all([
    getJson('/api/v1/dvc/overview', q),
    getJson('/api/v1/dvc/timeseries', { site: q.site, from: q.from, to: q.to }),
  ]);
  if (!ctx.isCurrent()) return;
  const perDay = chartCard({
    id: 'dvc-per-day', title: t('dvc_per_day'), rows: days.points,
    columns: [
      { key: 't', label: t('date'), format: (r) => fmtDate(r.t) },
      { key: 'viewers', label: t('viewers'), num: true, format: (r) => fmtInt(r.viewers) },
      { key: 'visitors', label: t('visitors'), num: true, format: (r) => fmtInt(r.visitors) },
      { key: 'pageviews', label: t('pageviews'), num: true, format: (r) => fmtInt(r.pageviews) },
      { key: 'visits', label: t('visits'), num: true, format: (r) => fmtInt(r.visits) },
    ],
    exportPath: '/api/v1/dvc/timeseries', exportParams: { site: q.site, from: q.from, to: q.to },
    draw: (el) => lineChart(el, {
      categories: days.points.map((p) => fmtDate(p.t)),
      series: [
        { name: t('viewers'), values: days.points.map((p) => p.viewers) },
        { name: t('visitors'), values: days.points.map((p) => p.visitors) },
      ],
    }),
  });
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(overview.period.from), b: fmtDate(overview.period.to) }),
      overview.compare ? ` ${t('compare_note', { a: fmtDate(overview.compare.from), b: fmtDate(overview.compare.to) })}` : ''),
    metricCards(overview.metrics, CARDS),
    h('div', { class: 'grid2' }, perDay, metricsTable(overview.metrics, '/api/v1/dvc/overview', q)),
    formsCard(sel, ['quarterly', 'online-services', 'sources'], ctx.me),
    unknownProcedures(overview.unknown_procedures));
  perDay.draw();
}
