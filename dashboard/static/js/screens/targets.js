// Targets screen (Chỉ tiêu, issue 18 item 4; seed 002: provinces assign each agency a yearly
// target, e.g. for its online dossier rate). For an agency's subtree and a year (both in the
// URL): each target with its actual (the rankings' own number for 1 January … today), a progress
// bar, the year-end forecast at the pace so far and whether it is on track; the laggards worst
// first; CSV/XLSX export (the XLSX is the import layout). An editor token or the admin imports a
// workbook (Agency, Metric, Year, Target): good rows are stored, the others listed row by row.

import { ApiError, getJson } from '../api.js';
import { t, fmtDate, fmtPct } from '../i18n.js';
import { h, tableCard } from '../ui.js';
import { canEdit, problemsCard, uploadForm } from './catalog.js';
import { label, formatOf } from './rankings.js';

const API = '/api/v1/targets';

/** An agency selector over the token's agencies (`all`: the admin may ask for every one). */
export function agencyChooser(me, current, ctx, all) {
  const agencies = me?.agencies ?? [];
  return h('label', {}, t('tg_agency'),
    h('select', { name: 'agency', onchange: (e) => ctx.update({ agency: e.target.value || null, done: null }) },
      all ? h('option', { value: '', selected: !current }, t('tg_all_agencies')) : null,
      agencies.map((a) => h('option', { value: a.id, selected: a.id === current }, a.name))));
}

/** A progress bar coloured by the forecast (a count a third of the way in March is on track). */
function bar(pct, onTrack) {
  if (pct === null || pct === undefined) return '—';
  const width = Math.max(0, Math.min(100, pct));
  return h('span', { class: 'progress', dataset: { role: 'progress' }, title: fmtPct(pct) },
    h('span', { class: `progress-bar ${onTrack === null ? '' : onTrack ? 'good' : 'bad'}`, style: `width:${width}%` }),
    h('span', { class: 'progress-text' }, fmtPct(pct)));
}

const status = (r) => (r.on_track === null ? h('span', { class: 'muted' }, t('tg_no_forecast'))
  : h('span', { class: `badge ${r.on_track ? 'connected' : 'silent'}`, dataset: { role: 'status' } },
    t(r.on_track ? 'tg_on_track' : 'tg_behind')));

const value = (r, key) => formatOf(r.metric)(r[key]);

export async function render(main, ctx) {
  const me = ctx.me;
  const admin = me?.role === 'admin';
  const asked = ctx.params.get('agency') ?? '';
  const agency = (me?.agencies ?? []).some((a) => a.id === asked) ? asked : admin ? '' : me?.agency?.id ?? '';
  const thisYear = new Date().getFullYear();
  const yearAsked = Number.parseInt(ctx.params.get('year') ?? '', 10);
  const year = Number.isFinite(yearAsked) && yearAsked >= 2000 && yearAsked <= 2100 ? yearAsked : thisYear;
  const params = { agency, year };
  const yearInput = h('input', { type: 'number', name: 'year', min: 2000, max: 2100, value: String(year),
    onchange: (e) => ctx.update({ year: e.target.value, done: null }) });
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_targets')),
    h('section', { class: 'panel controls', dataset: { card: 'controls' } },
      agencyChooser(me, agency, ctx, admin), h('label', {}, t('year'), yearInput)),
    body);
  const answer = await getJson(API, params);
  if (!ctx.isCurrent()) return;
  const slot = h('div', { dataset: { role: 'upload-result' } });
  const upload = canEdit(me) ? uploadForm({
    id: 'targets-upload', title: t('tg_import'), path: `${API}/import`,
    onDone: (done) => {
      const note = h('p', { class: 'period-note', dataset: { role: 'done' } },
        t('tg_done', { n: done.imported, p: done.problem_count }));
      slot.replaceChildren(note, done.problem_count ? problemsCard('targets-problems', new ApiError(201, t('tg_refused_rows'), done)) : '');
      refresh();
    },
    onError: (e) => slot.replaceChildren(problemsCard('targets-problems', e)),
  }) : null;
  const columns = [
    { key: 'name', label: t('rk_agency'), wrap: true, format: (r) => r.name || r.agency },
    { key: 'metric', label: t('metric'), wrap: true, format: (r) => label(r.metric) },
    { key: 'target', label: t('tg_target'), num: true, format: (r) => value(r, 'target') },
    { key: 'actual', label: t('tg_actual'), num: true, format: (r) => value(r, 'actual') },
    { key: 'progress_pct', label: t('tg_progress'), format: (r) => bar(r.progress_pct, r.on_track) },
    { key: 'forecast', label: t('tg_forecast'), num: true, format: (r) => value(r, 'forecast') },
    { key: 'forecast_pct', label: t('tg_forecast_pct'), num: true, format: (r) => fmtPct(r.forecast_pct) },
    { key: 'on_track', label: t('tg_status'), format: status },
  ];
  const keyed = (rows) => rows.map((r) => ({ ...r, key: `${r.agency}:${r.metric}:${r.year}` }));
  const cards = h('div', {});
  const draw = (data) => {
    cards.replaceChildren(
      h('p', { class: 'period-note', dataset: { role: 'formula' } }, t('tg_formula', { now: fmtDate(data.now.slice(0, 10)) })),
      tableCard({ id: 'targets-laggards', title: t('tg_laggards'), columns, rows: keyed(data.laggards) }),
      tableCard({ id: 'targets', title: t('tg_title', { y: year }), columns, rows: keyed(data.targets),
        exportPath: API, exportParams: params }));
  };
  async function refresh() {
    const fresh = await getJson(API, params);
    if (ctx.isCurrent()) draw(fresh);
  }
  draw(answer);
  body.className = '';
  body.replaceChildren(upload, slot, cards);
}

