// Service catalog screen (Danh mục thủ tục, issue 18): per site, its imported versions, the
// default and when it changed, the services of one version with its XLSX export, and — for an
// editor token or the admin — the upload of a new version (.xlsx or .xls) whose refusal lists
// every problem row by row (nothing is stored then), and the switch of the default version.
// Site and shown version live in the URL (site, version); after an import or a switch the URL
// gets `done=…` so the screen re-renders from the server and says what was done.

import { ApiError, download, getJson, send } from '../api.js';
import { t, fmtInt, fmtDateTime } from '../i18n.js';
import { h, table, tableCard } from '../ui.js';

export const canEdit = (me) => me?.token_role === 'admin' || me?.token_role === 'editor';

/** A site selector over `sites` (the first is chosen when the URL names none). */
export function siteChooser(sites, current, ctx, extra = {}) {
  return h('label', {}, t('site'),
    h('select', { name: 'site', onchange: (e) => ctx.update({ site: e.target.value, ...extra }) },
      sites.map((s) => h('option', { value: s.id, selected: s.id === current }, s.name))));
}

/** The refusal of a workbook: the API's message and its problems, row by row. */
export function problemsCard(id, error) {
  const problems = error instanceof ApiError ? error.body?.problems ?? [] : [];
  return h('section', { class: 'panel', dataset: { card: id }, role: 'alert' },
    h('p', { class: 'error', dataset: { role: 'refused' } }, `${t('error')}: ${error.message}`),
    problems.length ? table([
      { key: 'row', label: t('sv_row'), num: true },
      { key: 'column', label: t('sv_column') },
      { key: 'problem', label: t('sv_problem'), wrap: true },
    ], problems.map((p) => ({ ...p, key: `${p.row}:${p.column}` }))) : null);
}

/** An upload form: a file input (.xlsx/.xls), optional extra fields, and `onDone(answer)`. */
export function uploadForm({ id, title, path, extra = null, onDone, onError }) {
  const input = h('input', { type: 'file', name: 'file', accept: '.xlsx,.xls', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, t('sv_upload'));
  const form = h('form', {
    class: 'controls',
    onsubmit: async (event) => {
      event.preventDefault();
      if (!input.files?.length) return;
      const data = new FormData(form);
      button.disabled = true;
      try {
        onDone(await send('POST', path, data));
      } catch (e) {
        onError(e);
      } finally {
        button.disabled = false;
      }
    },
  }, h('label', {}, t('sv_file'), input), extra, button);
  return h('section', { class: 'panel', dataset: { card: id } }, h('h2', {}, title), form);
}

function doneNote(params) {
  const done = params.get('done');
  if (!done) return null;
  const [what, version] = done.split(':');
  return h('p', { class: 'period-note', dataset: { role: 'done' } }, t(`sv_done_${what}`, { v: version }));
}

export async function render(main, ctx) {
  const sites = ctx.sites;
  const asked = ctx.params.get('site') ?? '';
  const site = sites.some((s) => s.id === asked) ? asked : (sites.find((s) => s.type !== 'portal') ?? sites[0])?.id ?? '';
  const path = `/api/v1/sites/${encodeURIComponent(site)}`;
  const body = h('div', { class: 'loading' }, t('loading'));
  main.replaceChildren(h('h1', {}, t('screen_catalog')),
    h('section', { class: 'panel controls', dataset: { card: 'controls' } }, siteChooser(sites, site, ctx, { version: null, done: null })),
    body);
  if (!site) { body.className = ''; body.replaceChildren(h('p', { class: 'muted' }, t('no_data'))); return; }
  const history = await getJson(`${path}/catalog/history`);
  if (!ctx.isCurrent()) return;
  const versions = history.versions;
  const current = versions.find((v) => v.is_default)?.version ?? null;
  const wanted = Number.parseInt(ctx.params.get('version') ?? '', 10);
  const shown = versions.some((v) => v.version === wanted) ? wanted : current;
  const services = shown === null ? null : await getJson(`${path}/catalog`, { version: shown });
  if (!ctx.isCurrent()) return;
  const editor = canEdit(ctx.me);
  const slot = h('div', { dataset: { role: 'upload-result' } });
  const upload = editor ? uploadForm({
    id: 'catalog-upload', title: t('sv_import_catalog'), path: `${path}/catalog`,
    extra: h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'default', value: 'true' }), t('sv_make_default')),
    onDone: (answer) => ctx.update({ done: `catalog:${answer.version}`, version: null }),
    onError: (e) => slot.replaceChildren(problemsCard('catalog-problems', e)),
  }) : null;
  const setDefault = async (version) => {
    try {
      await send('PUT', `${path}/catalog/default`, { version });
      ctx.update({ done: `default:${version}` });
    } catch (e) { ctx.fail(e); }
  };
  const versionRows = versions.slice().reverse().map((v) => ({ ...v, key: String(v.version) }));
  body.className = '';
  body.replaceChildren(
    doneNote(ctx.params), upload, slot,
    tableCard({
      id: 'catalog-versions', title: t('sv_versions'), rows: versionRows,
      columns: [
        { key: 'version', label: t('sv_version'), num: true, format: (r) => fmtInt(r.version) },
        { key: 'imported_at', label: t('sv_imported_at'), format: (r) => fmtDateTime(r.imported_at) },
        { key: 'file_name', label: t('sv_file'), wrap: true },
        { key: 'rows', label: t('sv_rows'), num: true, format: (r) => fmtInt(r.rows) },
        { key: 'is_default', label: t('sv_default'),
          format: (r) => (r.is_default ? h('span', { class: 'badge connected' }, t('sv_default')) : '') },
        { key: 'actions', label: '', format: (r) => h('span', { class: 'tools' },
          h('button', { type: 'button', dataset: { show: String(r.version) }, onclick: () => ctx.update({ version: r.version, done: null }) }, t('sv_show')),
          h('button', { type: 'button', dataset: { exportVersion: String(r.version) },
            onclick: () => download(`${path}/catalog`, { version: r.version }, 'xlsx').catch((e) => ctx.fail(e)) }, t('xlsx')),
          editor && !r.is_default
            ? h('button', { type: 'button', dataset: { makeDefault: String(r.version) }, onclick: () => setDefault(r.version) }, t('sv_set_default'))
            : null) },
      ],
    }),
    tableCard({
      id: 'catalog-defaults', title: t('sv_default_changes'),
      rows: history.default_changes.map((c, i) => ({ ...c, key: String(i) })),
      columns: [
        { key: 'version', label: t('sv_version'), num: true, format: (r) => fmtInt(r.version) },
        { key: 'set_at', label: t('sv_set_at'), format: (r) => fmtDateTime(r.set_at) },
      ],
    }),
    services === null
      ? h('p', { class: 'muted', dataset: { role: 'no-catalog' } }, t('sv_no_catalog'))
      : tableCard({
        id: 'catalog-services', title: t('sv_services', { v: services.version }),
        rows: services.services.map((s) => ({ ...s, key: s.id_mcdt })),
        columns: [
          { key: 'row', label: t('sv_row'), num: true },
          { key: 'name', label: t('service'), wrap: true },
          { key: 'level', label: t('sv_level'), num: true },
          { key: 'id_mcdt', label: 'ID MCDT' },
          { key: 'id_cdvcqg', label: 'ID CDVCQG' },
        ],
      }));
}
