// One-stop screen (Một cửa điện tử, DESIGN §3.III): the indicators of /api/v1/onestop/overview,
// the top-20 level-4 and level-3 services, the administrative-level table, the official
// forms' downloads (forms.js) and the provisional Decision 766 scorecard (scorecard.js).

import { getJson } from '../api.js';
import { t, fmtInt, fmtPct, fmtDate } from '../i18n.js';
import { h, tableCard } from '../ui.js';
import { selection, controls } from './period.js';
import { metricCards, metricsTable, unknownProcedures } from './indicators.js';
import { formsCard } from './forms.js';
import { scorecardCard } from './scorecard.js';

const CARDS = [
  'submitted', 'received_online', 'received_total', 'received_all_channels', 'services_online_pct',
  'online_rate_pct',
  'avg_processing_time_s', 'l4_services_online_pct', 'l3_services_online_pct',
  'l4_online_rate_pct', 'l3_online_rate_pct', 'resolved', 'returned_on_time', 'on_time_rate_pct',
  'overdue_open',
];
const WORSE_WHEN_HIGHER = new Set(['avg_processing_time_s', 'overdue_open']);

function topCard(level, answer, q) {
  return tableCard({
    id: `top-l${level}`, title: t(`top_l${level}`), rows: answer.services,
    exportPath: '/api/v1/onestop/top-services', exportParams: { ...q, level, limit: 20 },
    columns: [
      { key: 'procedure_code', label: t('code') },
      { key: 'name', label: t('service'), wrap: true, format: (r) => r.name || '—' },
      { key: 'online_dossiers', label: t('online_dossiers'), num: true, format: (r) => fmtInt(r.online_dossiers) },
      { key: 'dossiers', label: t('dossiers'), num: true, format: (r) => fmtInt(r.dossiers) },
      { key: 'online_rate_pct', label: t('online_rate'), num: true, format: (r) => fmtPct(r.online_rate_pct) },
    ],
  });
}

function levelCard(answer, q) {
  return tableCard({
    id: 'by-level', title: t('by_level'), rows: answer.levels.map((r) => ({ ...r, key: r.admin_level })),
    exportPath: '/api/v1/onestop/by-level', exportParams: q,
    columns: [
      { key: 'admin_level', label: t('admin_level'), format: (r) => t(`lvl_${r.admin_level}`) },
      { key: 'received', label: t('received'), num: true, format: (r) => fmtInt(r.received) },
      { key: 'resolved', label: t('resolved'), num: true, format: (r) => fmtInt(r.resolved) },
      { key: 'resolved_on_time', label: t('resolved_on_time'), num: true, format: (r) => fmtInt(r.resolved_on_time) },
      { key: 'on_time_rate_pct', label: t('on_time_rate_pct'), num: true, format: (r) => fmtPct(r.on_time_rate_pct) },
    ],
  });
}

export async function render(main, ctx) {
  const typed = ctx.sites.filter((s) => s.type === 'onestop');
  const sites = typed.length ? typed : ctx.sites;
  const sel = selection(ctx.params, sites, ctx.sites);
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_onestop')), controls(sel, sites, ctx), body);
  if (!sel.site) { body.replaceChildren(h('p', {}, t('no_data'))); return; }
  const q = { site: sel.site, from: sel.from, to: sel.to, compare: sel.compare };
  const range = { site: sel.site, from: sel.from, to: sel.to };
  const [overview, top4, top3, levels] = await Promise.all([
    getJson('/api/v1/onestop/overview', q),
    getJson('/api/v1/onestop/top-services', { ...range, level: 4, limit: 20 }),
    getJson('/api/v1/onestop/top-services', { ...range, level: 3, limit: 20 }),
    getJson('/api/v1/onestop/by-level', range),
  ]);
  if (!ctx.isCurrent()) return;
  body.className = '';
  body.replaceChildren(
    h('p', { class: 'period-note', dataset: { role: 'period' } },
      t('period_note', { a: fmtDate(overview.period.from), b: fmtDate(overview.period.to) }),
      overview.compare ? ` ${t('compare_note', { a: fmtDate(overview.compare.from), b: fmtDate(overview.compare.to) })}` : ''),
    metricCards(overview.metrics, CARDS, WORSE_WHEN_HIGHER),
    h('div', { class: 'grid2' }, topCard(4, top4, range), topCard(3, top3, range)),
    h('div', { class: 'grid2' }, levelCard(levels, range), metricsTable(overview.metrics, '/api/v1/onestop/overview', q)),
    formsCard(sel, ['quarterly', 'online-services', 'resolution', 'sources', 'rankings'], ctx.me),
    scorecardCard(sel),
    unknownProcedures(overview.unknown_procedures));
}
