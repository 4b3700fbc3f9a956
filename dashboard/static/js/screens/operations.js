// Operations screen: consumer lag per group and topic, pending dead letters (the lag of the
// dead-letter cursor group), dead letters by stage and reason, and the ingest rate (rows the
// sink writes per second, from two readings) — all read from the warehouse's /metrics, which
// the lag poller refreshes every EMC_LAG_POLL_S seconds. Refreshes itself every `rt` seconds.

import { t, fmtInt, fmtDec } from '../i18n.js';
import { h, kpiCard, table } from '../ui.js';
import { parse, named } from '../prometheus.js';
import { token } from '../api.js';

const DEAD_LETTER_GROUP = /-deadletters-cli$/;

async function read() {
  const response = await fetch('/metrics', { headers: { Authorization: `Bearer ${token.get() ?? ''}` } });
  if (!response.ok) throw new Error(`/metrics: HTTP ${response.status}`);
  return parse(await response.text());
}

/** Lag per (group, topic): messages summed over partitions, seconds = the oldest partition. */
function lagRows(samples) {
  const rows = new Map();
  for (const s of named(samples, 'emc_consumer_lag_messages')) {
    const key = `${s.labels.group}\u0000${s.labels.topic}`;
    const row = rows.get(key) ?? { key, group: s.labels.group, topic: s.labels.topic, messages: 0, seconds: 0, partitions: 0 };
    row.messages += s.value;
    row.partitions += 1;
    rows.set(key, row);
  }
  for (const s of named(samples, 'emc_consumer_lag_seconds')) {
    const row = rows.get(`${s.labels.group}\u0000${s.labels.topic}`);
    if (row) row.seconds = Math.max(row.seconds, s.value);
  }
  return [...rows.values()].sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic));
}

function rowsWritten(samples) {
  return Object.fromEntries(named(samples, 'emc_sink_rows_written_total').map((s) => [s.labels.table, s.value]));
}

function view(samples, previous, seconds) {
  const lag = lagRows(samples);
  const pending = lag.filter((r) => DEAD_LETTER_GROUP.test(r.group)).reduce((n, r) => n + r.messages, 0);
  const running = named(samples, 'emc_sink_running')[0]?.value;
  const written = rowsWritten(samples);
  const before = previous ? rowsWritten(previous) : null;
  const rate = (table) => (before && seconds > 0 && table in before ? (written[table] - before[table]) / seconds : null);
  const totalRate = before && seconds > 0
    ? Object.keys(written).reduce((n, k) => n + (rate(k) ?? 0), 0) : null;
  const updated = named(samples, 'emc_consumer_lag_updated_timestamp_seconds')[0]?.value;
  const dead = named(samples, 'emc_dead_letters_total').map((s) => ({ key: `${s.labels.stage}/${s.labels.reason}`, ...s.labels, value: s.value }));
  const state = running === undefined ? t('ops_no_sink') : running ? t('ops_running') : t('ops_stopped');
  return [
    h('div', { class: 'kpis', dataset: { card: 'kpis' } },
      kpiCard({ id: 'sink', label: t('ops_sink'), value: state }),
      kpiCard({ id: 'ingest_rate', label: t('ops_ingest_rate'), value: totalRate === null ? '—' : fmtDec(totalRate, 1) }),
      kpiCard({ id: 'pending_dead_letters', label: t('ops_pending_dead'), value: fmtInt(pending) }),
      kpiCard({ id: 'max_lag_s', label: t('ops_max_lag_s'), value: fmtDec(Math.max(0, ...lag.filter((r) => !DEAD_LETTER_GROUP.test(r.group)).map((r) => r.seconds)), 1) })),
    h('p', { class: 'period-note', dataset: { role: 'lag-updated' } },
      updated ? t('ops_measured', { t: new Date(updated * 1000).toLocaleTimeString(document.documentElement.lang === 'vi' ? 'vi-VN' : 'en-GB') }) : t('ops_not_measured')),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel', dataset: { card: 'lag' } }, h('h2', {}, t('ops_lag')), table([
        { key: 'group', label: t('ops_group') },
        { key: 'topic', label: t('ops_topic'), wrap: true },
        { key: 'partitions', label: t('ops_partitions'), num: true, format: (r) => fmtInt(r.partitions) },
        { key: 'messages', label: t('ops_messages'), num: true, format: (r) => fmtInt(r.messages) },
        { key: 'seconds', label: t('ops_seconds'), num: true, format: (r) => fmtDec(r.seconds, 1) },
      ], lag)),
      h('section', { class: 'panel', dataset: { card: 'ingest' } }, h('h2', {}, t('ops_ingest')), table([
        { key: 'key', label: t('ops_table') },
        { key: 'total', label: t('ops_rows_total'), num: true, format: (r) => fmtInt(r.total) },
        { key: 'rate', label: t('ops_rows_per_s'), num: true, format: (r) => (r.rate === null ? '—' : fmtDec(r.rate, 1)) },
      ], Object.keys(written).sort().map((k) => ({ key: k, total: written[k], rate: rate(k) }))))),
    h('section', { class: 'panel', dataset: { card: 'dead-letters' } }, h('h2', {}, t('ops_dead')), table([
      { key: 'stage', label: t('ops_stage') },
      { key: 'reason', label: t('ops_reason') },
      { key: 'value', label: t('ops_messages'), num: true, format: (r) => fmtInt(r.value) },
    ], dead)),
  ];
}

export async function render(main, ctx) {
  const rt = Math.max(1, Number.parseInt(ctx.params.get('rt') ?? '10', 10) || 10);
  const body = h('div', { dataset: { refreshes: '0', role: 'ops' } });
  main.replaceChildren(h('h1', {}, t('screen_operations')), body);
  let previous = null;
  let previousAt = 0;
  const refresh = async () => {
    const samples = await read();
    const now = performance.now();
    if (!ctx.isCurrent()) return;
    body.replaceChildren(...view(samples, previous, (now - previousAt) / 1000));
    previous = samples;
    previousAt = now;
    body.dataset.refreshes = String(Number(body.dataset.refreshes) + 1);
  };
  await refresh();
  const timer = setInterval(() => refresh().catch((e) => ctx.fail(e)), rt * 1000);
  ctx.onCleanup(() => clearInterval(timer));
}
