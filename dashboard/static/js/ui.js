// Small DOM building blocks shared by every screen: elements, KPI cards, tables with CSV/XLSX
// downloads, and chart cards that can also be read as a table.

import { t, fmtChange } from './i18n.js';
import { download } from './api.js';

/** h('div', {class: 'x', dataset: {a: 1}, onclick}, child…) → Element. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A KPI card: value, change arrow (green when the change is good), comparison value.
 * `lowerIsBetter` flips the colours (bounce rate). Without `change` / `previous` (undefined)
 * the card shows the value alone (operations). */
export function kpiCard({ id, label, value, change, points = false, previous, lowerIsBetter = false }) {
  const c = fmtChange(change, points);
  const good = c.dir === null || c.dir === 'flat' ? 'flat' : (c.dir === 'up') !== lowerIsBetter ? 'good' : 'bad';
  return h('section', { class: 'kpi', dataset: { kpi: id } },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', dataset: { role: 'value' } }, value),
    change === undefined ? null : h('div', { class: `change ${good}`, dataset: { role: 'change', dir: c.dir ?? 'none' },
      title: c.dir === null ? t('no_compare') : null }, c.arrow ? `${c.arrow} ${c.text}` : c.text),
    previous === undefined ? null : h('div', { class: 'previous', dataset: { role: 'previous' } }, `${t('previous')}: ${previous}`));
}

/** Download buttons for `exportPath` with `params` (the API's format=csv|xlsx). */
export function exportTools(exportPath, params) {
  if (!exportPath) return [];
  return ['csv', 'xlsx'].map((fmt) => h('button', {
    type: 'button', dataset: { export: fmt },
    onclick: () => download(exportPath, params, fmt).catch((e) => alert(`${t('error')}: ${e.message}`)),
  }, t(fmt)));
}

/** A table: columns [{key, label, num, format(row)}]; every cell carries data-col. With
 * `onRow(row)` each row is a button (click, Enter or Space) — the portal filters by it. */
export function table(columns, rows, caption = null, onRow = null) {
  const rowAttrs = (row) => ({
    dataset: { key: String(row.key ?? row.t ?? ''), ...(onRow ? { filterable: '1' } : {}) },
    class: onRow ? 'filterable' : null, tabindex: onRow ? '0' : null, title: onRow ? t('filter_by_row') : null,
    onclick: onRow ? () => onRow(row) : null,
    onkeydown: onRow ? (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onRow(row); } } : null,
  });
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, t('no_data')))
        : rows.map((row) => h('tr', rowAttrs(row),
          columns.map((c) => h('td', { class: c.num ? 'num' : (c.wrap ? 'key' : null), dataset: { col: c.key } },
            c.format ? c.format(row) : String(row[c.key] ?? '—'))))))));
}

/** A card holding a table with download buttons (`onRow`: see `table`). */
export function tableCard({ id, title, columns, rows, exportPath, exportParams, onRow = null }) {
  return h('section', { class: 'panel', dataset: { card: id } },
    h('div', { class: 'card-head' }, h('h2', {}, title), h('div', { class: 'tools' }, exportTools(exportPath, exportParams))),
    table(columns, rows, null, onRow));
}

/** A card with a chart and the same numbers as a table behind a toggle ("every chart is also
 * readable as a table"). `draw(el)` draws into the chart element and returns its chart. */
export function chartCard({ id, title, columns, rows, exportPath, exportParams, draw, mapClass = '', onRow = null }) {
  const chartEl = h('div', { class: `chart ${mapClass}`, dataset: { chart: id }, role: 'img', 'aria-label': title });
  const tableEl = h('div', { dataset: { role: 'table' }, hidden: true }, table(columns, rows, null, onRow));
  const toggle = h('button', { type: 'button', dataset: { toggle: id } }, t('show_table'));
  toggle.addEventListener('click', () => {
    const showTable = tableEl.hidden;
    tableEl.hidden = !showTable;
    chartEl.hidden = showTable;
    toggle.textContent = showTable ? t('show_chart') : t('show_table');
  });
  const card = h('section', { class: 'panel', dataset: { card: id } },
    h('div', { class: 'card-head' }, h('h2', {}, title),
      h('div', { class: 'tools' }, toggle, exportTools(exportPath, exportParams))),
    chartEl, tableEl);
  card.draw = () => draw(chartEl);
  return card;
}

export function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, `${t('error')}: ${message}`);
}
