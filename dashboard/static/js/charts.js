// ECharts (npm package, served from /vendor) with the SVG renderer: crisp on phones, and the
// browser tests can see what was drawn. Charts are disposed when a screen re-renders.

import * as echarts from 'echarts';
import { feature } from 'topojson-client';
import { countryName, fmtInt } from './i18n.js';

const live = new Set();
window.addEventListener('resize', () => { for (const c of live) c.resize(); });

/** Dispose every chart of the previous render. */
export function disposeAll() {
  for (const c of live) c.dispose();
  live.clear();
}

function init(el, option) {
  const chart = echarts.init(el, null, { renderer: 'svg' });
  chart.setOption({ animation: false, ...option });
  live.add(chart);
  return chart;
}

const PALETTE = ['#1f5fa8', '#c8102e', '#2e7d32', '#f9a825', '#6a1b9a', '#00838f'];

/** Lines over categories: series [{name, values, dashed}]. */
export function lineChart(el, { categories, series, formatter = fmtInt }) {
  return init(el, {
    color: PALETTE,
    tooltip: { trigger: 'axis', valueFormatter: formatter },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { formatter } },
    series: series.map((s) => ({
      name: s.name, type: 'line', data: s.values, smooth: false, showSymbol: s.values.length < 40,
      lineStyle: s.dashed ? { type: 'dashed' } : undefined,
    })),
  });
}

/** Bars over categories, with an optional line on a second axis. */
export function barChart(el, { categories, bars, line = null, formatter = fmtInt, lineFormatter = fmtInt }) {
  const series = [{ name: bars.name, type: 'bar', data: bars.values }];
  const yAxis = [{ type: 'value', minInterval: 1, axisLabel: { formatter } }];
  if (line) {
    series.push({ name: line.name, type: 'line', yAxisIndex: 1, data: line.values });
    yAxis.push({ type: 'value', axisLabel: { formatter: lineFormatter }, splitLine: { show: false } });
  }
  return init(el, {
    color: PALETTE,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: line ? 48 : 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: categories },
    yAxis,
    series,
  });
}

/** Horizontal bars, first category on top (a ranking): long agency names stay readable. */
export function rankChart(el, { categories, values, name, formatter = fmtInt }) {
  return init(el, {
    color: PALETTE,
    tooltip: { trigger: 'axis', valueFormatter: formatter },
    grid: { left: 8, right: 24, top: 8, bottom: 24, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter } },
    yAxis: { type: 'category', data: categories, inverse: true },
    series: [{ name, type: 'bar', data: values, label: { show: true, position: 'right', formatter: (p) => formatter(p.value) } }],
  });
}

let worldReady = null;
const ANTARCTICA = '010';

/** Make each ring's longitudes continuous (Russia and Fiji cross ±180°): the geometry is made
 * for spherical projections, and a flat map would otherwise draw lines across the world. */
function unwrapRing(ring) {
  let offset = 0;
  return ring.map(([lon, lat], i) => {
    if (i > 0) {
      const prev = ring[i - 1][0];
      if (lon - prev > 180) offset -= 360;
      else if (prev - lon > 180) offset += 360;
    }
    return [lon + offset, lat];
  });
}

function unwrapGeometry(g) {
  if (g?.type === 'Polygon') return { ...g, coordinates: g.coordinates.map(unwrapRing) };
  if (g?.type === 'MultiPolygon') {
    return { ...g, coordinates: g.coordinates.map((poly) => poly.map(unwrapRing)) };
  }
  return g;
}

/** Register the world map once: Natural Earth 110m countries (npm world-atlas, TopoJSON),
 * each feature named by its ISO alpha-2 code (numeric → alpha-2 from i18n-iso-countries). */
function loadWorld() {
  worldReady ??= (async () => {
    const [topo, codes] = await Promise.all([
      fetch('/vendor/world-atlas/countries-110m.json').then((r) => r.json()),
      fetch('/vendor/i18n-iso-countries/codes.json').then((r) => r.json()),
    ]);
    const alpha2 = new Map(codes.map(([a2, , numeric]) => [numeric, a2]));
    const geo = feature(topo, topo.objects.countries);
    geo.features = geo.features
      .filter((f) => String(f.id) !== ANTARCTICA)
      .map((f, i) => ({
        ...f,
        geometry: unwrapGeometry(f.geometry),
        properties: { name: alpha2.get(String(f.id)) ?? `x${i}` },
      }));
    echarts.registerMap('world', geo);
    return geo.features.length;
  })();
  return worldReady;
}

/** World map coloured by visits: rows [{key: 'VN', visits}]. Sets data-countries (features
 * drawn) and data-coloured (countries with visits) on `el` once drawn. */
export async function worldMap(el, rows, label) {
  const count = await loadWorld();
  const data = rows.filter((r) => r.key).map((r) => ({ name: r.key, value: r.visits }));
  const max = Math.max(1, ...data.map((d) => d.value));
  const chart = init(el, {
    tooltip: {
      trigger: 'item',
      formatter: (p) => `${countryName(p.name)}: ${Number.isFinite(p.value) ? fmtInt(p.value) : 0} ${label}`,
    },
    visualMap: {
      min: 0, max, left: 8, bottom: 8, calculable: true, itemHeight: 90,
      inRange: { color: ['#dbe9f6', '#1f5fa8', '#0b2e59'] }, formatter: (v) => fmtInt(Math.round(v)),
    },
    series: [{
      type: 'map', map: 'world', roam: true, name: label, data,
      emphasis: { label: { show: false } },
      itemStyle: { areaColor: '#eef1f4', borderColor: '#9aa6b2', borderWidth: 0.4 },
    }],
  });
  el.dataset.countries = String(count);
  el.dataset.coloured = data.map((d) => d.name).join(',');
  return chart;
}
