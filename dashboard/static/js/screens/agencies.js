// Agencies and sites screen (Cơ quan và trang, issue 18): the token's agency tree (the admin:
// every agency) with each agency's kind and sites, and the sites with their domains, from GET
// /api/v1/me. An editor token (or the admin) also adds a child agency or a site under an agency
// of its subtree and edits a site's domains; the server checks the subtree again (an id outside
// answers 404), and refusals are shown beside the form without leaving the screen.

import { send } from '../api.js';
import { t, fmtInt } from '../i18n.js';
import { h, errorBox, tableCard } from '../ui.js';
import { canEdit } from './catalog.js';
import { contactsCard } from './contacts.js';

const CHILD_KINDS = ['department', 'commune', 'other'];
const SITE_TYPES = ['portal', 'dvc', 'onestop'];

/** The agencies in tree order (parents first, children sorted by id) with their depth. */
export function treeOrder(agencies) {
  const ids = new Set(agencies.map((a) => a.id));
  const kids = new Map();
  for (const a of agencies) {
    const parent = ids.has(a.parent_id) ? a.parent_id : '';
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(a);
  }
  for (const list of kids.values()) list.sort((x, y) => x.id.localeCompare(y.id));
  const out = [];
  const walk = (parent, depth) => {
    for (const a of kids.get(parent) ?? []) { out.push({ ...a, depth }); walk(a.id, depth + 1); }
  };
  walk('', 0);
  return out;
}

const splitDomains = (text) => text.split(/[\s,;]+/).map((d) => d.trim()).filter(Boolean);

function field(label, attrs) {
  return h('label', {}, label, h('input', attrs));
}

function choice(label, name, options, selected = '') {
  return h('label', {}, label, h('select', { name },
    options.map(([value, text]) => h('option', { value, selected: value === selected }, text))));
}

/** A form posting its fields through `submit(values)`; a refusal is shown under it. */
function managed(id, title, fields, submit) {
  const slot = h('div', { dataset: { role: 'result' } });
  const form = h('form', {
    class: 'controls',
    onsubmit: async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      try {
        await submit(values);
      } catch (e) {
        slot.replaceChildren(errorBox(e.message));
      }
    },
  }, fields, h('button', { type: 'submit', class: 'primary' }, t('ag_save')));
  return h('section', { class: 'panel', dataset: { card: id } }, h('h2', {}, title), form, slot);
}

export async function render(main, ctx) {
  const agencies = treeOrder(ctx.me?.agencies ?? []);
  const sites = ctx.sites;
  const names = new Map(agencies.map((a) => [a.id, a.name]));
  const done = ctx.params.get('done');
  const after = async (what) => { await ctx.refreshMe(); ctx.update({ done: what }); };
  const agencyOptions = agencies.map((a) => [a.id, `${'\u00a0\u00a0'.repeat(a.depth)}${a.name}`]);
  const forms = canEdit(ctx.me) && agencies.length ? [
    managed('agency-add', t('ag_add_agency'), [
      choice(t('ag_parent'), 'parent', agencyOptions, ctx.me.agency?.id ?? ''),
      field(t('ag_id'), { name: 'id', required: true }),
      field(t('ag_name'), { name: 'name', required: true }),
      choice(t('ag_kind'), 'kind', CHILD_KINDS.map((k) => [k, t(`kind_${k}`)])),
    ], async (v) => {
      await send('POST', `/api/v1/agencies/${encodeURIComponent(v.parent)}/children`,
        { id: v.id, name: v.name, kind: v.kind });
      await after(`agency:${v.id}`);
    }),
    managed('site-add', t('ag_add_site'), [
      choice(t('ag_agency'), 'agency', agencyOptions, ctx.me.agency?.id ?? ''),
      field(t('ag_id'), { name: 'id', required: true }),
      field(t('ag_name'), { name: 'name', required: true }),
      choice(t('ag_type'), 'type', SITE_TYPES.map((k) => [k, t(`type_${k}`)])),
      field(t('ag_domains'), { name: 'domains', placeholder: 'dvc.example.gov.vn' }),
    ], async (v) => {
      await send('POST', `/api/v1/agencies/${encodeURIComponent(v.agency)}/sites`,
        { id: v.id, name: v.name, type: v.type, domains: splitDomains(v.domains) });
      await after(`site:${v.id}`);
    }),
    sites.length ? managed('site-domains', t('ag_edit_domains'), [
      choice(t('site'), 'site', sites.map((s) => [s.id, s.name])),
      field(t('ag_domains'), { name: 'domains', placeholder: 'a.gov.vn, b.gov.vn' }),
    ], async (v) => {
      await send('PUT', `/api/v1/sites/${encodeURIComponent(v.site)}/domains`, { domains: splitDomains(v.domains) });
      await after(`domains:${v.site}`);
    }) : null,
  ] : [];
  main.replaceChildren(
    h('h1', {}, t('screen_agencies')),
    done ? h('p', { class: 'period-note', dataset: { role: 'done' } }, t(`ag_done_${done.split(':')[0]}`, { id: done.split(':').slice(1).join(':') })) : null,
    tableCard({
      id: 'agency-tree', title: t('ag_tree'),
      rows: agencies.map((a) => ({ ...a, key: a.id })),
      columns: [
        { key: 'name', label: t('rk_agency'), wrap: true,
          format: (r) => h('span', { style: `padding-left:${r.depth * 1.4}rem` }, r.name) },
        { key: 'kind', label: t('ag_kind'), format: (r) => t(`kind_${r.kind}`) },
        { key: 'id', label: t('ag_id') },
        { key: 'sites', label: t('rk_sites'), num: true, format: (r) => fmtInt(sites.filter((s) => s.agency_id === r.id).length) },
      ],
    }),
    tableCard({
      id: 'site-list', title: t('ag_sites'),
      rows: sites.map((s) => ({ ...s, key: s.id })),
      columns: [
        { key: 'name', label: t('site'), wrap: true },
        { key: 'id', label: t('ag_id') },
        { key: 'type', label: t('ag_type'), format: (r) => t(`type_${r.type}`) },
        { key: 'agency', label: t('ag_agency'), format: (r) => names.get(r.agency_id) ?? '—' },
        { key: 'domains', label: t('ag_domains'), wrap: true, format: (r) => (r.domains.length ? r.domains.join(', ') : '—') },
      ],
    }),
    ...forms,
    await contactsCard(ctx, agencies));
}
