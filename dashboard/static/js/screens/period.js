// The selection every indicator screen shares: site(s) or an agency's sites, period (presets in
// the site's timezone, or custom dates) and comparison, read from and written to the URL.

import { PRESETS, presetRange, isDate } from '../dates.js';
import { t, fmtChange } from '../i18n.js';
import { h } from '../ui.js';

const COMPARES = ['previous', 'year', 'none'];
const DEFAULT_PRESET = '30d';

/** The selection from the URL, with defaults filled and bad values replaced. `sites` are the
 * screen's sites, `visible` every site the token may see: a site of another type falls back to
 * the screen's first one (the nav keeps the params across screens), but an id the token may not
 * see is kept, so the API refuses it and the screen shows its error instead of other data. */
export function selection(params, sites, visible = sites) {
  const ids = sites.map((s) => s.id);
  const known = new Set(visible.map((s) => s.id));
  let site = params.get('site') ?? '';
  const asked = site ? site.split(',') : [];
  const foreign = asked.some((id) => !known.has(id));
  if (!foreign && !asked.every((id) => ids.includes(id))) site = ids[0] ?? '';
  else if (!site) site = ids[0] ?? '';
  const tz = sites.find((s) => s.id === site.split(',')[0])?.timezone ?? 'Asia/Ho_Chi_Minh';
  let preset = params.get('preset') ?? '';
  let from = params.get('from');
  let to = params.get('to');
  if (!PRESETS.includes(preset)) preset = isDate(from) && isDate(to) ? 'custom' : DEFAULT_PRESET;
  if (preset !== 'custom') ({ from, to } = presetRange(preset, tz));
  else if (!isDate(from) || !isDate(to)) ({ from, to } = presetRange(DEFAULT_PRESET, tz));
  const compare = COMPARES.includes(params.get('compare')) ? params.get('compare') : 'previous';
  const vs = ids.includes(params.get('vs')) && params.get('vs') !== site ? params.get('vs') : '';
  const rt = Math.max(1, Number.parseInt(params.get('rt') ?? '10', 10) || 10);
  return { site, tz, preset, from, to, compare, vs, rt };
}

/** Agencies of the token (`ctx.me.agencies`) with at least two of `sites`: each one option
 * whose value is its sites, so the numbers are over their union (like `agency=` in the API). */
function agencyOptions(sites, ctx, sel, taken) {
  const ids = new Set(sites.map((s) => s.id));
  const out = [];
  for (const agency of ctx.me?.agencies ?? []) {
    const mine = agency.sites.filter((id) => ids.has(id));
    const value = mine.join(',');
    if (mine.length < 2 || taken.has(value)) continue;
    taken.add(value);
    out.push(h('option', { value, selected: value === sel.site, dataset: { agency: agency.id } },
      `${agency.name} (${mine.length})`));
  }
  return out.length ? h('optgroup', { label: t('agencies') }, out) : null;
}

/** The selection controls; `withSite: false` leaves the site selector out (rankings). */
export function controls(sel, sites, ctx, { withSite = true } = {}) {
  const all = sites.map((s) => s.id).join(',');
  const taken = new Set(sites.map((s) => s.id));
  if (sites.length > 1) taken.add(all);
  const siteSelect = h('select', { name: 'site', onchange: (e) => ctx.update({ site: e.target.value }) },
    sites.map((s) => h('option', { value: s.id, selected: s.id === sel.site }, s.name)),
    sites.length > 1 ? h('option', { value: all, selected: sel.site === all }, t('all_sites')) : null,
    agencyOptions(sites, ctx, sel, taken));
  const presets = h('div', { class: 'presets', role: 'group', 'aria-label': t('period') },
    PRESETS.map((p) => h('button', {
      type: 'button', dataset: { preset: p }, 'aria-pressed': String(p === sel.preset),
      onclick: () => ctx.update(p === 'custom'
        ? { preset: 'custom', from: sel.from, to: sel.to }
        : { preset: p, from: null, to: null }),
    }, t(`p_${p}`))));
  const from = h('input', { type: 'date', name: 'from', value: sel.from });
  const to = h('input', { type: 'date', name: 'to', value: sel.to });
  const apply = h('button', {
    type: 'button', class: 'primary', dataset: { action: 'apply' },
    onclick: () => ctx.update({ preset: 'custom', from: from.value, to: to.value }),
  }, t('apply'));
  const compare = h('select', { name: 'compare', onchange: (e) => ctx.update({ compare: e.target.value }) },
    COMPARES.map((c) => h('option', { value: c, selected: c === sel.compare }, t(`cmp_${c}`))));
  return h('section', { class: 'panel controls', dataset: { card: 'controls' } },
    withSite ? h('label', {}, t('site'), siteSelect) : null,
    h('div', {}, h('div', { class: 'muted', style: 'font-size:.85rem' }, t('period')), presets),
    h('label', {}, t('from'), from),
    h('label', {}, t('to'), to),
    apply,
    h('label', {}, t('compare'), compare));
}

export const changeCell = (value, points = false) => {
  const c = fmtChange(value, points);
  return c.arrow ? `${c.arrow} ${c.text}` : c.text;
};

