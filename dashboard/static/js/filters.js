// Report filters of the portal screen (issue 17): they live in the URL hash as repeated
// `filter=` values in the API's own syntax (DIM:V1|V2, DIM!:V, DIM~:TEXT), so a filtered view is
// bookmarkable and the back button removes the last one; they show as removable chips; a click
// on a table row adds one. The page never filters numbers itself: every filtered number is the
// API's answer to the same `filter=` values.

import { t, countryName, deviceName, channelName } from './i18n.js';
import { h } from './ui.js';

/** 'country!:VN|LA' → {dim: 'country', op: 'is_not', values: ['VN', 'LA'], text}. */
export function parseFilter(text) {
  const i = text.indexOf(':');
  if (i < 0) return { dim: text, op: 'is', values: [], text };
  let dim = text.slice(0, i);
  let op = 'is';
  if (dim.endsWith('!')) { dim = dim.slice(0, -1); op = 'is_not'; }
  else if (dim.endsWith('~')) { dim = dim.slice(0, -1); op = 'contains'; }
  const value = text.slice(i + 1);
  return { dim, op, values: op === 'contains' ? [value] : value.split('|'), text };
}

/** The filters after a click on the row `key` of dimension `dim`: it replaces an "is one of"
 * filter on the same dimension (ANDed with it, a second value would leave nothing). */
export function withFilter(filters, dim, key) {
  return [...filters.filter((f) => !f.startsWith(`${dim}:`)), `${dim}:${key}`];
}

function valueName(dim, value) {
  if (dim === 'country') return countryName(value);
  if (dim === 'device') return deviceName(value);
  if (dim === 'channel') return channelName(value);
  return value || t('unknown');
}

/** The chips of `filters` (each with its remove button) and a "remove all" button; a hint
 * when there is none. `update(list)` navigates to the new list. */
export function filterBar(filters, update) {
  const bar = h('div', { class: 'filters', dataset: { card: 'filters', count: String(filters.length) } },
    h('strong', {}, `${t('filters')}:`));
  if (!filters.length) {
    bar.append(h('span', { class: 'muted' }, t('filter_hint')));
    return bar;
  }
  for (const text of filters) {
    const f = parseFilter(text);
    const dim = t(`dim_${f.dim}`) === `dim_${f.dim}` ? f.dim : t(`dim_${f.dim}`); // unknown: as written
    const label = `${dim} ${t(`op_${f.op}`)} ${f.values.map((v) => valueName(f.dim, v)).join(t('or'))}`;
    bar.append(h('span', { class: 'chip', dataset: { filter: text } },
      h('span', { dataset: { role: 'label' } }, label),
      h('button', {
        type: 'button', 'aria-label': `${t('remove_filter')}: ${label}`, title: t('remove_filter'),
        dataset: { remove: text }, onclick: () => update(filters.filter((x) => x !== text)),
      }, '×')));
  }
  bar.append(h('button', { type: 'button', class: 'clear', dataset: { clear: '1' }, onclick: () => update([]) },
    t('clear_filters')));
  return bar;
}
