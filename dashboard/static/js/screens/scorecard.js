// The provisional Decision 766/QĐ-TTg scorecard card (issue 16, item 3) of the one-stop screen:
// GET /api/v1/scorecard for the selected site(s) and period. A group or indicator the data
// cannot compute shows "Chưa đo được" (not measured) with the API's reason, never 0; the total
// says how many of the 100 points could be measured. Its words live here (not in i18n.js) so
// that the card stays one self-contained file; numbers go through i18n.js's formats.

import { getJson, download } from '../api.js';
import { getLang, fmtDec, fmtPct } from '../i18n.js';
import { h, table, errorBox } from '../ui.js';

const WORDS = {
  vi: {
    title: 'Bộ chỉ số phục vụ người dân, doanh nghiệp (QĐ 766/QĐ-TTg) — tạm tính',
    provisional: 'Trọng số và ngưỡng tạm tính (phiên bản {v}), chưa phải bảng điểm chính thức.',
    group: 'Nhóm chỉ số', indicator: 'Chỉ tiêu', value: 'Giá trị', points: 'Điểm',
    not_measured: 'Chưa đo được', partial: 'đo được một phần',
    total: 'Tổng điểm: {p} / {m} điểm đo được ({pct}) — thang 100 điểm',
    total_none: 'Tổng điểm: chưa đo được nhóm nào',
    ratings: 'Số lượt đánh giá', json: 'JSON',
  },
  en: {
    title: 'Service index for citizens and businesses (Decision 766/QĐ-TTg) — provisional',
    provisional: 'Provisional weights and thresholds (version {v}), not the official scorecard.',
    group: 'Group', indicator: 'Indicator', value: 'Value', points: 'Points',
    not_measured: 'Not measured', partial: 'partly measured',
    total: 'Total: {p} of {m} measurable points ({pct}) — out of 100',
    total_none: 'Total: no group could be measured',
    ratings: 'Ratings', json: 'JSON',
  },
};

function w(key, vars = {}) {
  const text = (WORDS[getLang()] ?? WORDS.vi)[key] ?? WORDS.vi[key];
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

const name = (item) => (getLang() === 'en' ? item.name_en : item.name_vi);

function valueText(i) {
  if (!i.measured) return '—';
  return i.metric === 'satisfaction' ? `${fmtDec(i.value, 2)} / 5` : fmtPct(i.value * 100);
}

function pointsText(item) {
  if (item.points === null) return w('not_measured');
  return `${fmtDec(item.points, 2)} / ${fmtDec(item.points_max, 2)}`;
}

function rows(answer) {
  const out = [];
  for (const g of answer.groups) {
    out.push({ key: g.key, kind: 'group', label: name(g), value: '',
      points: g.status === 'partial' ? `${pointsText(g)} (${w('partial')})` : pointsText(g),
      reason: g.reason });
    for (const i of g.indicators) {
      out.push({ key: `${g.key}.${i.key}`, kind: 'indicator', label: name(i), value: valueText(i),
        points: pointsText(i), reason: i.reason });
    }
  }
  return out;
}

function totalLine(total) {
  if (total.points === null) return w('total_none');
  return w('total', { p: fmtDec(total.points, 2), m: fmtDec(total.measured_max, 2), pct: fmtPct(total.measured_pct) });
}

/** The card: loads the scorecard of `sel` (site(s), from, to) and renders it. */
export function scorecardCard(sel) {
  const params = { site: sel.site, from: sel.from, to: sel.to };
  const body = h('div', {}, '…');
  const tools = ['xlsx', 'csv', 'json'].map((fmt) => h('button', {
    type: 'button', dataset: { export: fmt },
    onclick: () => download('/api/v1/scorecard', params, fmt).catch((e) => body.prepend(errorBox(e.message))),
  }, fmt === 'json' ? w('json') : fmt.toUpperCase()));
  const card = h('section', { class: 'panel', dataset: { card: 'scorecard-766' } },
    h('div', { class: 'card-head' }, h('h2', {}, w('title')), h('div', { class: 'tools' }, tools)),
    body);
  getJson('/api/v1/scorecard', params).then((answer) => {
    const columns = [
      { key: 'label', label: `${w('group')} / ${w('indicator')}`, wrap: true,
        format: (r) => (r.kind === 'group' ? h('strong', {}, r.label) : r.label) },
      { key: 'value', label: w('value'), num: true, format: (r) => r.value },
      { key: 'points', label: w('points'), num: true,
        format: (r) => (r.reason ? h('span', { title: r.reason, dataset: { role: 'not-measured' } }, r.points) : r.points) },
    ];
    const counts = Object.entries(answer.ratings).map(([s, n]) => `${s}★ ${n}`).join(' · ');
    body.replaceChildren(
      h('p', { class: 'period-note', dataset: { role: 'total' } }, totalLine(answer.total)),
      answer.provisional ? h('p', { class: 'muted' }, w('provisional', { v: answer.version })) : null,
      table(columns, rows(answer)),
      h('p', { class: 'muted', dataset: { role: 'ratings' } }, `${w('ratings')}: ${counts}`));
  }).catch((e) => body.replaceChildren(errorBox(e.message)));
  return card;
}
