// Portal screen (Cổng thông tin điện tử, DESIGN §3.I): period and comparison, KPI cards, visits
// per day, 24-hour profile, world map, top pages/countries/devices/browsers, live counter and two
// sites side by side. Every number shown comes from /api/v1/portal/* as answered.
// Filters (issue 17): the `filter` values of the URL go to every request of the screen (the
// realtime counter and the side-by-side view too); a click on a row of the countries, devices,
// browsers or pages tables (the map's table and the side-by-side tables too) adds one; the chips above the numbers remove them.

import { getJson } from '../api.js';
import { selection, controls, changeCell } from './period.js';
import {
  t, fmtInt, fmtDec, fmtPct, fmtDuration, fmtDate, countryName, deviceName, channelName,
} from '../i18n.js';
import { h, kpiCard, tableCard, chartCard, errorBox, table, exportTools } from '../ui.js';
import { lineChart, barChart, worldMap } from '../charts.js';
import { filterBar, withFilter } from '../filters.js';

const API = '/api/v1/portal';
const KPIS = [
  { id: 'visits', fmt: fmtInt },
  { id: 'pageviews', fmt: fmtInt },
  { id: 'unique_visitors', fmt: fmtInt },
  { id: 'pages_per_visit', fmt: (v) => fmtDec(v, 2) },
  { id: 'avg_visit_duration_s', fmt: fmtDuration },
  // I.4: its change in percent, as seed 000 shows it ("theo tỷ lệ %"); change_pp is also answered
  { id: 'bounce_rate', fmt: fmtPct, lowerIsBetter: true },
];

function kpis(overview) {
  return h('div', { class: 'kpis', dataset: { card: 'kpis' } }, KPIS.map((k) => {
    const m = overview.metrics[k.id];
    return kpiCard({
      id: k.id, label: t(k.id), value: k.fmt(m.value),
      change: k.points ? m.change_pp : m.change_pct, points: k.points,
      previous: k.fmt(m.previous), lowerIsBetter: k.lowerIsBetter,
    });
  }));
}

function perDay(days, q) {
  const cmp = days.compare_points ?? [];
  const columns = [
    { key: 't', label: t('date'), format: (r) => fmtDate(r.t) },
    { key: 'visits', label: t('visits'), num: true, format: (r) => fmtInt(r.visits) },
    { key: 'pageviews', label: t('pageviews'), num: true, format: (r) => fmtInt(r.pageviews) },
    { key: 'unique_visitors', label: t('unique_visitors'), num: true, format: (r) => fmtInt(r.unique_visitors) },
  ];
  if (cmp.length) {
    columns.push({ key: 'compare_t', label: t('comparison'), format: (r) => fmtDate(r.compare_t) });
    columns.push({ key: 'compare_visits', label: `${t('visits')} (${t('comparison')})`, num: true, format: (r) => fmtInt(r.compare_visits) });
  }
  const rows = days.points.map((p, i) => ({ ...p, compare_t: cmp[i]?.t ?? null, compare_visits: cmp[i]?.visits ?? null }));
  return chartCard({
    id: 'per-day', title: t('visits_per_day'), columns, rows,
    exportPath: `${API}/timeseries`, exportParams: { ...q, interval: 'day' },
    draw: (el) => lineChart(el, {
      categories: days.points.map((p) => fmtDate(p.t)),
      series: [
        { name: t('current'), values: days.points.map((p) => p.visits) },
        ...(cmp.length ? [{ name: t('comparison'), values: cmp.map((p) => p.visits), dashed: true }] : []),
      ],
    }),
  });
}

function byHour(hours, q) {
  const rows = hours.rows.map((r) => ({ ...r, key: r.key }));
  return chartCard({
    id: 'by-hour', title: t('by_hour'),
    columns: [
      { key: 'key', label: t('hour'), format: (r) => `${String(r.key).padStart(2, '0')}:00` },
      { key: 'visits', label: t('visits'), num: true, format: (r) => fmtInt(r.visits) },
      { key: 'pageviews', label: t('pageviews'), num: true, format: (r) => fmtInt(r.pageviews) },
      { key: 'pages_per_visit', label: t('pages_per_visit'), num: true, format: (r) => fmtDec(r.pages_per_visit, 2) },
    ],
    rows, exportPath: `${API}/breakdown`, exportParams: { ...q, by: 'hour_of_day' },
    draw: (el) => barChart(el, {
      categories: rows.map((r) => String(r.key).padStart(2, '0')),
      bars: { name: t('visits'), values: rows.map((r) => r.visits) },
      line: { name: t('pages_per_visit'), values: rows.map((r) => r.pages_per_visit) },
      lineFormatter: (v) => fmtDec(v, 2),
    }),
  });
}

function visitColumns(keyLabel, name) {
  return [
    { key: 'key', label: keyLabel, wrap: true, format: (r) => name(r.key) },
    { key: 'visits', label: t('visits'), num: true, format: (r) => fmtInt(r.visits) },
    { key: 'share_pct', label: t('share'), num: true, format: (r) => fmtPct(r.share_pct) },
    { key: 'change_pct', label: t('change'), num: true, format: (r) => changeCell(r.change_pct) },
  ];
}

function worldCard(countries, q, onRow) {
  return chartCard({
    id: 'map', title: t('world_map'), mapClass: 'map', onRow,
    columns: visitColumns(t('country'), countryName), rows: countries.rows,
    exportPath: `${API}/breakdown`, exportParams: { ...q, by: 'country', limit: 1000 },
    draw: (el) => worldMap(el, countries.rows, t('visits')),
  });
}

function breakdownCard(id, title, answer, q, by, keyLabel, name, onRow) {
  return tableCard({
    id, title, columns: visitColumns(keyLabel, name), rows: answer.rows.slice(0, 10), onRow,
    exportPath: `${API}/breakdown`, exportParams: { ...q, by, limit: 1000 },
  });
}

function pagesCard(pages, q, onRow) {
  return tableCard({
    id: 'pages', title: t('top_pages'), onRow,
    columns: [
      { key: 'key', label: t('page'), wrap: true, format: (r) => r.key || '/' },
      { key: 'pageviews', label: t('pageviews'), num: true, format: (r) => fmtInt(r.pageviews) },
      { key: 'visits', label: t('visits'), num: true, format: (r) => fmtInt(r.visits) },
      { key: 'share_pct', label: t('share'), num: true, format: (r) => fmtPct(r.share_pct) },
      { key: 'change_pct', label: t('change'), num: true, format: (r) => changeCell(r.change_pct) },
    ],
    rows: pages.rows, exportPath: `${API}/breakdown`, exportParams: { ...q, by: 'page', limit: 1000 },
  });
}

/** The live counter: refreshes itself every `rt` seconds until the screen changes. */
function realtime(sel, ctx) {
  const big = h('span', { class: 'big', dataset: { rt: 'visitors_5m' } }, '…');
  const v30 = h('span', { dataset: { rt: 'visitors_30m' } }, '…');
  const pv30 = h('span', { dataset: { rt: 'pageviews_30m' } }, '…');
  const stamp = h('span', { class: 'muted', dataset: { rt: 'updated' } });
  const card = h('section', { class: 'panel realtime', dataset: { card: 'realtime', refreshes: '0' } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), h('strong', {}, t('realtime')),
    big, h('span', {}, t('realtime_now')),
    h('span', {}, v30, ' ', t('realtime_30')), h('span', {}, pv30, ' ', t('realtime_pv')), stamp);
  const refresh = async () => {
    try {
      const live = await getJson(`${API}/realtime`, { site: sel.site, filter: sel.filters });
      if (!ctx.isCurrent()) return;
      big.textContent = fmtInt(live.visitors_5m);
      v30.textContent = fmtInt(live.visitors_30m);
      pv30.textContent = fmtInt(live.pageviews_30m);
      stamp.textContent = t('updated', { t: new Date().toLocaleTimeString(ctx.lang === 'vi' ? 'vi-VN' : 'en-GB') });
      card.dataset.refreshes = String(Number(card.dataset.refreshes) + 1);
    } catch (e) {
      ctx.fail(e);
    }
  };
  refresh();
  const timer = setInterval(refresh, sel.rt * 1000);
  ctx.onCleanup(() => clearInterval(timer));
  return card;
}

/** Two sites side by side (indicator 12). */
async function twoSites(sel, sites, q, ctx, by) {
  const single = !sel.site.includes(',');
  const picker = h('select', { name: 'vs', disabled: !single, onchange: (e) => ctx.update({ vs: e.target.value || null }) },
    h('option', { value: '' }, t('choose')),
    sites.filter((s) => s.id !== sel.site).map((s) => h('option', { value: s.id, selected: s.id === sel.vs }, s.name)));
  const card = h('section', { class: 'panel', dataset: { card: 'two-sites' } },
    h('div', { class: 'card-head' }, h('h2', {}, t('two_sites')), h('label', { class: 'tools' }, t('second_site'), ' ', picker)));
  if (!single || !sel.vs) return card;
  const params = { sites: `${sel.site},${sel.vs}`, from: q.from, to: q.to, compare: q.compare, filter: q.filter };
  const answer = await getJson(`${API}/compare`, params);
  const name = (id) => sites.find((s) => s.id === id)?.name ?? id;
  const rows = KPIS.map((k) => {
    const row = { key: k.id };
    answer.sites.forEach((s, i) => {
      const m = s.metrics[k.id];
      row[`v${i}`] = k.fmt(m.value);
      row[`c${i}`] = changeCell(k.points ? m.change_pp : m.change_pct, k.points);
    });
    return row;
  });
  const columns = [{ key: 'key', label: t('metric'), format: (r) => t(r.key) }];
  answer.sites.forEach((s, i) => {
    columns.push({ key: `v${i}`, label: name(s.site), num: true });
    columns.push({ key: `c${i}`, label: t('change'), num: true });
  });
  card.append(h('div', { dataset: { card: 'two-sites-metrics' } }, table(columns, rows)), h('div', { class: 'tools' }, exportTools(`${API}/compare`, params)));
  // the breakdowns side by side: one row per key seen on either site
  const sideBySide = [
    ['country', t('countries'), countryName, 'visits'], ['device', t('devices'), deviceName, 'visits'],
    ['browser', t('browsers'), (k) => k || t('unknown'), 'visits'], ['page', t('top_pages'), (k) => k, 'pageviews'],
  ];
  card.append(h('div', { class: 'grid2' }, sideBySide.map(([dim, title, label, measure]) => {
    const keys = [];
    for (const s of answer.sites) for (const r of s.breakdowns[dim]) if (!keys.includes(r.key)) keys.push(r.key);
    const byRows = keys.map((key) => {
      const row = { key };
      answer.sites.forEach((s, i) => { row[`v${i}`] = fmtInt(s.breakdowns[dim].find((r) => r.key === key)?.[measure] ?? 0); });
      return row;
    });
    const cols = [{ key: 'key', label: `${title} (${t(measure)})`, wrap: true, format: (r) => label(r.key) },
      ...answer.sites.map((s, i) => ({ key: `v${i}`, label: name(s.site), num: true }))];
    return h('div', { dataset: { card: `two-sites-${dim}` } }, table(cols, byRows, null, by(dim)));
  })));
  return card;
}

export async function render(main, ctx) {
  const sites = ctx.sites.filter((s) => s.type === 'portal').length
    ? ctx.sites.filter((s) => s.type === 'portal') : ctx.sites;
  const sel = selection(ctx.params, sites, ctx.sites);
  sel.filters = ctx.params.getAll('filter');
  const setFilters = (list) => ctx.update({ filter: list });
  const by = (dim) => (row) => setFilters(withFilter(sel.filters, dim, row.key));
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_portal')), controls(sel, sites, ctx),
    filterBar(sel.filters, setFilters), body);
  if (!sel.site) { body.replaceChildren(h('p', {}, t('no_data'))); return; }
  const q = { site: sel.site, from: sel.from, to: sel.to, compare: sel.compare, filter: sel.filters };
  const bd = (by, limit) => getJson(`${API}/breakdown`, { ...q, by, limit });
  // all requests at once: the side-by-side table does not wait for the rest
  const comparing = twoSites(sel, sites, q, ctx, by).catch((e) => errorBox(e.message));
  const [overview, days, hours, countries, pages, devices, browsers, channels, campaigns, sources] = await Promise.all([
    getJson(`${API}/overview`, q), getJson(`${API}/timeseries`, { ...q, interval: 'day' }),
    bd('hour_of_day', 24), bd('country', 300), bd('page', 10), bd('device', 10), bd('browser', 10),
    bd('channel', 10), bd('utm_campaign', 10), bd('utm_source', 10),
  ]);
  if (!ctx.isCurrent()) return;
  const note = h('p', { class: 'period-note', dataset: { role: 'period' } },
    t('period_note', { a: fmtDate(overview.period.from), b: fmtDate(overview.period.to) }),
    overview.compare_period
      ? ` ${t('compare_note', { a: fmtDate(overview.compare_period.from), b: fmtDate(overview.compare_period.to) })}` : '');
  const dayCard = perDay(days, q);
  const hourCard = byHour(hours, q);
  const mapCard = worldCard(countries, q, by('country'));
  const compareCard = await comparing;
  if (!ctx.isCurrent()) return;
  body.className = '';
  body.replaceChildren(
    note, realtime(sel, ctx), kpis(overview),
    h('div', { class: 'grid2' }, dayCard, hourCard),
    h('div', { class: 'grid2' }, mapCard,
      breakdownCard('countries', t('countries'), countries, q, 'country', t('country'), countryName, by('country'))),
    h('div', { class: 'grid2' }, pagesCard(pages, q, by('page')),
      h('div', {}, breakdownCard('devices', t('devices'), devices, q, 'device', t('device'), deviceName, by('device')),
        breakdownCard('browsers', t('browsers'), browsers, q, 'browser', t('browser'), (k) => k || t('unknown'), by('browser')))),
    // issue 17 item 2: channels, and the campaigns (utm_campaign, utm_source) of the visits
    h('div', { class: 'grid2' },
      breakdownCard('channels', t('channels'), channels, q, 'channel', t('channel'), channelName, by('channel')),
      h('div', {}, breakdownCard('campaigns', t('campaigns'), campaigns, q, 'utm_campaign', t('campaign'),
        (k) => k || t('no_campaign'), by('utm_campaign')),
      breakdownCard('utm-sources', t('utm_sources'), sources, q, 'utm_source', t('utm_source'),
        (k) => k || t('no_campaign'), by('utm_source')))),
    compareCard);
  dayCard.draw();
  hourCard.draw();
  await mapCard.draw();
}
