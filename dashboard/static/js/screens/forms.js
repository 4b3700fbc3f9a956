// The official forms card (issue 16): download the quarterly report (seed 004 section 6), the
// section VII table with PL3A.2/3A.3 (seed 003), the resolution table (seed 004 footnote 5),
// the dossiers by source (III.3) and, for the admin, the ranking tables (seed 002), as XLSX or
// DOCX, for the screen's site selection and a chosen year and quarter ("cả năm" = the whole
// year; the quarterly report needs a quarter). Shared by the one-stop and DVC screens.

import { download } from '../api.js';
import { t } from '../i18n.js';
import { h, errorBox } from '../ui.js';

/** Forms that need a quarter; the others accept the whole year. */
const QUARTER_ONLY = new Set(['quarterly']);

/**
 * The card. `forms` lists the form ids (`quarterly`, `online-services`, `resolution`, `sources`,
 * `rankings`); `rankings` is shown to the admin only (the API refuses agency tokens).
 */
export function formsCard(sel, forms, me) {
  const [y, m] = sel.to.split('-').map(Number);
  const year = h('select', { name: 'year' }, [y - 2, y - 1, y].map((v) => h('option', { value: v, selected: v === y }, v)));
  const quarter = h('select', { name: 'quarter' },
    h('option', { value: '' }, t('form_whole_year')),
    [1, 2, 3, 4].map((v) => h('option', { value: v, selected: v === Math.floor((m - 1) / 3) + 1 }, v)));
  const problem = h('div', { hidden: true });
  const shown = forms.filter((f) => f !== 'rankings' || me?.role === 'admin');
  const rows = shown.map((form) => h('tr', { dataset: { form } },
    h('td', {}, t(`form_${form.replace('-', '_')}`)),
    h('td', {}, ['xlsx', 'docx'].map((format) => h('button', {
      type: 'button', dataset: { action: `form-${form}-${format}` },
      onclick: () => {
        if (QUARTER_ONLY.has(form) && !quarter.value) {
          problem.replaceChildren(errorBox(t('form_needs_quarter'))); problem.hidden = false; return;
        }
        const params = { year: year.value, quarter: quarter.value };
        if (form !== 'rankings') params.site = sel.site;
        download(`/api/v1/reports/${form}`, params, format)
          .then(() => { problem.hidden = true; })
          .catch((e) => { problem.replaceChildren(errorBox(e.message)); problem.hidden = false; });
      },
    }, format.toUpperCase())))));
  return h('section', { class: 'panel', dataset: { card: 'forms' } },
    h('h2', {}, t('forms_title')),
    h('div', { class: 'controls' }, h('label', {}, t('year'), year), h('label', {}, t('quarter'), quarter)),
    h('table', {}, h('tbody', {}, rows)),
    problem);
}
