// Every screen of the dashboard. A screen whose API is not on the server yet is listed with
// `needs` (what it will call) and renders the pending screen; to add it, write
// screens/<id>.js exporting `render(main, ctx)` and give it a `load` here instead of `needs`.

export const SCREENS = [
  { id: 'portal', load: () => import('./portal.js') },
  { id: 'dvc', load: () => import('./dvc.js') },
  { id: 'onestop', load: () => import('./onestop.js') },
  {
    id: 'rankings',
    needs: ['GET /api/v1/rankings?metric=visits|pageviews|online_dossier_rate|on_time_rate&group=ministries|provinces&order=desc|asc (issue 5, admin token)'],
  },
  {
    id: 'connections',
    needs: ['GET /api/v1/connections?agency=|site=&status= : per site last event, connected/silent/never_seen, gaps (issue 5)'],
  },
  { id: 'operations', load: () => import('./operations.js') },
];

export const screenById = (id) => SCREENS.find((s) => s.id === id) ?? null;
