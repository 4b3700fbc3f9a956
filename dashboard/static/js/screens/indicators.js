// Metric cards and the all-indicators table for the dossier screens (DVC, one-stop). The API
// answers {key: {value, previous, change_pct | change_pp}}; keys ending in _pct are
// percentages (change in percentage points), avg_processing_time_s is shown in days.

import { t, fmtInt, fmtPct, fmtDays } from '../i18n.js';
import { h, kpiCard, tableCard } from '../ui.js';
import { changeCell } from './period.js';

/** How a metric key is shown: its formatter and whether its change is in points. */
export function metricFormat(key) {
  if (key.endsWith('_pct')) return { fmt: fmtPct, points: true };
  if (key === 'avg_processing_time_s') return { fmt: fmtDays, points: false };
  return { fmt: fmtInt, points: false };
}

/** KPI cards of `keys`; `lowerIsBetter` keys turn red when they rise. */
export function metricCards(metrics, keys, lowerIsBetter = new Set()) {
  return h('div', { class: 'kpis', dataset: { card: 'kpis' } }, keys.filter((k) => k in metrics).map((key) => {
    const m = metrics[key];
    const { fmt, points } = metricFormat(key);
    return kpiCard({
      id: key, label: t(`m_${key}`), value: fmt(m.value), change: points ? m.change_pp : m.change_pct,
      points, previous: fmt(m.previous), lowerIsBetter: lowerIsBetter.has(key),
    });
  }));
}

/** Every metric of the answer as a table, with the API's CSV/XLSX of the same answer. */
export function metricsTable(metrics, exportPath, exportParams) {
  const rows = Object.entries(metrics).map(([key, m]) => {
    const { fmt, points } = metricFormat(key);
    return {
      key, label: t(`m_${key}`), value: fmt(m.value), previous: fmt(m.previous),
      change: changeCell(points ? m.change_pp : m.change_pct, points),
    };
  });
  return tableCard({
    id: 'all-indicators', title: t('all_indicators'), rows, exportPath, exportParams,
    columns: [
      { key: 'label', label: t('metric'), wrap: true },
      { key: 'value', label: t('current'), num: true },
      { key: 'previous', label: t('comparison'), num: true },
      { key: 'change', label: t('change'), num: true },
    ],
  });
}

/** Procedures that no catalog knows (their level cannot be counted), when there are any. */
export function unknownProcedures(list) {
  if (!list?.length) return null;
  return tableCard({
    id: 'unknown-procedures', title: t('unknown_procedures'), rows: list,
    columns: [
      { key: 'site', label: t('site') },
      { key: 'procedure_code', label: t('code') },
      { key: 'procedure_name', label: t('service'), wrap: true, format: (r) => r.procedure_name || '—' },
      { key: 'dossiers', label: t('dossiers'), num: true, format: (r) => fmtInt(r.dossiers) },
    ],
  });
}
