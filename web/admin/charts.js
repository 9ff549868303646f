// Charts: a thin wrapper around the vendored Apache ECharts UMD build (window.echarts).
//
// The 1 MB bundle is loaded lazily, from our own origin, the first time a chart view opens
// (a classic <script src> from 'self' is allowed by `script-src 'self'`; nothing is evaled).
// Charts use the canvas renderer and rich-text tooltips: ECharts' HTML tooltip writes inline
// `style` attributes, which `style-src 'self'` blocks.

import { getLang } from '../staff/i18n.js';

const SRC = '/static/vendor/echarts/echarts.min.js';
export const PALETTE = ['#2456a6', '#3aa189', '#e0a400', '#b45ba6', '#d05c3b', '#5f6b7a', '#7fa7e0', '#8cc7a8'];
const FONT =
  'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';

let loading = null;

/** Resolve window.echarts, adding the vendored script tag once if needed. */
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = SRC;
      s.async = true;
      s.addEventListener('load', () =>
        window.echarts ? resolve(window.echarts) : reject(new Error('ECharts did not load')),
      );
      s.addEventListener('error', () => {
        loading = null;
        s.remove();
        reject(new Error('ECharts could not be loaded'));
      });
      document.head.appendChild(s);
    });
  }
  return loading;
}

const reducedMotion = () => window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

function withDefaults(option) {
  return {
    color: PALETTE,
    animation: !reducedMotion(),
    textStyle: { fontFamily: FONT, color: '#1f2933' },
    aria: { enabled: true },
    ...option,
    tooltip:
      option.tooltip === false ? undefined : { confine: true, ...(option.tooltip || {}), renderMode: 'richText' },
  };
}

/**
 * Draw `option` into `el` (which needs a CSS height). Resizes with its container / the window.
 * Resolves {chart, dispose()}; `isAlive()` false after the await disposes at once.
 */
export async function mountChart(el, option, { isAlive = () => true } = {}) {
  const echarts = await loadECharts();
  if (!isAlive() || !el.isConnected) return { chart: null, dispose() {} };
  const chart = echarts.init(el, null, { renderer: 'canvas', locale: getLang() === 'zh' ? 'ZH' : 'EN' });
  chart.setOption(withDefaults(option));
  let frame = 0;
  const resize = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (!chart.isDisposed()) chart.resize();
    });
  };
  const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(resize) : null;
  if (ro) ro.observe(el);
  window.addEventListener('resize', resize);
  // Printing changes the page width: redraw at the print width and back.
  window.addEventListener('beforeprint', resize);
  window.addEventListener('afterprint', resize);
  return {
    chart,
    dispose() {
      cancelAnimationFrame(frame);
      if (ro) ro.disconnect();
      window.removeEventListener('resize', resize);
      window.removeEventListener('beforeprint', resize);
      window.removeEventListener('afterprint', resize);
      if (!chart.isDisposed()) chart.dispose();
    },
  };
}

/** Keeps the charts of one view so its cleanup disposes them all. */
export class ChartSet {
  constructor(ctx) {
    this.ctx = ctx;
    this.items = [];
  }

  async add(el, option) {
    try {
      const item = await mountChart(el, option, { isAlive: () => this.ctx.alive });
      if (!this.ctx.alive) {
        item.dispose();
        return null;
      }
      this.items.push(item);
      return item.chart;
    } catch (e) {
      console.warn(e);
      el.classList.add('chart-failed');
      el.textContent = e.message || String(e);
      return null;
    }
  }

  dispose() {
    for (const item of this.items.splice(0)) item.dispose();
  }
}

/** Axis-label helper: shorten long category names (full name stays in the tooltip). */
export function shorten(text, max = 14) {
  const s = String(text || '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
