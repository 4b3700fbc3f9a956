// Words and number formats of the dashboard. Vietnamese first; English switchable (?lang=en).
// Why formats by hand around Intl: EMC writes 1.234.567 and "12,5 %" (space before %), and the
// browser tests check the exact text, so every screen must format through these functions.

const STRINGS = {
  vi: {
    title: 'Hệ thống giám sát, đo lường Chính phủ số',
    signin_title: 'Đăng nhập', signin_help: 'Nhập mã truy cập (token) của cơ quan hoặc của quản trị viên.',
    token: 'Mã truy cập', signin: 'Đăng nhập', signout: 'Đăng xuất', wrong_token: 'Mã truy cập không đúng.',
    lang_switch: 'English',
    screen_portal: 'Cổng thông tin điện tử', screen_dvc: 'Cổng dịch vụ công', screen_onestop: 'Một cửa điện tử',
    screen_rankings: 'Xếp hạng', screen_connections: 'Kết nối', screen_operations: 'Vận hành',
    pending_title: 'Màn hình này chưa có dữ liệu', pending_body: 'Màn hình sẽ hiển thị khi API sau có trên máy chủ:',
    site: 'Trang', all_sites: 'Tất cả các trang', period: 'Thời gian', compare: 'So sánh với',
    cmp_previous: 'Kỳ trước', cmp_year: 'Cùng kỳ năm trước', cmp_none: 'Không so sánh',
    p_today: 'Hôm nay', p_7d: '7 ngày', p_30d: '30 ngày', p_quarter: 'Quý này', p_year: 'Năm nay', p_custom: 'Tùy chọn',
    from: 'Từ ngày', to: 'Đến ngày', apply: 'Xem',
    period_note: 'Kỳ báo cáo {a} – {b}', compare_note: 'so với {a} – {b}',
    visits: 'Lượt truy cập', pageviews: 'Lượt xem trang', unique_visitors: 'Người truy cập',
    pages_per_visit: 'Số trang / lượt truy cập', avg_visit_duration_s: 'Thời gian truy cập trung bình',
    bounce_rate: 'Tỷ lệ thoát trang', previous: 'Kỳ so sánh', no_compare: 'không có số liệu so sánh',
    visits_per_day: 'Lượt truy cập theo ngày', by_hour: 'Lượt truy cập theo giờ trong ngày (24 giờ)',
    world_map: 'Bản đồ lượt truy cập theo quốc gia', top_pages: 'Trang được xem nhiều nhất',
    countries: 'Quốc gia', devices: 'Loại thiết bị', browsers: 'Trình duyệt',
    realtime: 'Trực tuyến', realtime_now: 'người đang truy cập (5 phút)', realtime_30: 'người trong 30 phút',
    realtime_pv: 'lượt xem trang trong 30 phút', updated: 'cập nhật lúc {t}',
    two_sites: 'So sánh hai trang', second_site: 'Trang thứ hai', choose: '— chọn —',
    show_table: 'Xem dạng bảng', show_chart: 'Xem biểu đồ', csv: 'CSV', xlsx: 'XLSX',
    date: 'Ngày', hour: 'Giờ', page: 'Trang', country: 'Quốc gia', device: 'Thiết bị', browser: 'Trình duyệt',
    share: 'Tỷ lệ', change: 'Thay đổi', metric: 'Chỉ số', current: 'Kỳ này', comparison: 'Kỳ so sánh',
    unknown: '(không rõ)', no_data: 'Không có số liệu', loading: 'Đang tải…', error: 'Lỗi',
    points_pp: 'điểm %',
    desktop: 'Máy tính', mobile: 'Điện thoại', tablet: 'Máy tính bảng',
  },
  en: {
    title: 'Digital government monitoring and measurement',
    signin_title: 'Sign in', signin_help: 'Enter an agency token or the admin token.',
    token: 'Token', signin: 'Sign in', signout: 'Sign out', wrong_token: 'Wrong token.',
    lang_switch: 'Tiếng Việt',
    screen_portal: 'Web portal', screen_dvc: 'Public-service portal', screen_onestop: 'One-stop system',
    screen_rankings: 'Rankings', screen_connections: 'Connections', screen_operations: 'Operations',
    pending_title: 'This screen has no data yet', pending_body: 'It appears when the server has this API:',
    site: 'Site', all_sites: 'All sites', period: 'Period', compare: 'Compare with',
    cmp_previous: 'Previous period', cmp_year: 'Same period last year', cmp_none: 'No comparison',
    p_today: 'Today', p_7d: '7 days', p_30d: '30 days', p_quarter: 'This quarter', p_year: 'This year', p_custom: 'Custom',
    from: 'From', to: 'To', apply: 'Show',
    period_note: 'Period {a} – {b}', compare_note: 'compared with {a} – {b}',
    visits: 'Visits', pageviews: 'Pageviews', unique_visitors: 'Unique visitors',
    pages_per_visit: 'Pages per visit', avg_visit_duration_s: 'Average visit duration',
    bounce_rate: 'Bounce rate', previous: 'Comparison', no_compare: 'no comparison data',
    visits_per_day: 'Visits per day', by_hour: 'Visits by hour of day (24 h)',
    world_map: 'Visits by country', top_pages: 'Most viewed pages',
    countries: 'Countries', devices: 'Device types', browsers: 'Browsers',
    realtime: 'Live', realtime_now: 'visitors now (5 minutes)', realtime_30: 'visitors in 30 minutes',
    realtime_pv: 'pageviews in 30 minutes', updated: 'updated {t}',
    two_sites: 'Two sites side by side', second_site: 'Second site', choose: '— choose —',
    show_table: 'Show as table', show_chart: 'Show chart', csv: 'CSV', xlsx: 'XLSX',
    date: 'Date', hour: 'Hour', page: 'Page', country: 'Country', device: 'Device', browser: 'Browser',
    share: 'Share', change: 'Change', metric: 'Metric', current: 'This period', comparison: 'Comparison',
    unknown: '(unknown)', no_data: 'No data', loading: 'Loading…', error: 'Error',
    points_pp: 'pp',
    desktop: 'Desktop', mobile: 'Mobile', tablet: 'Tablet',
  },
};

export const LANGS = ['vi', 'en'];
let lang = 'vi';

export function setLang(value) {
  lang = LANGS.includes(value) ? value : 'vi';
  document.documentElement.lang = lang;
}

export function getLang() { return lang; }

/** The word for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

const locale = () => (lang === 'vi' ? 'vi-VN' : 'en-US');
const NBSP = '\u00a0';
const DASH = '—';

/** 1234567 → "1.234.567" (vi) / "1,234,567" (en). */
export function fmtInt(n) {
  if (n === null || n === undefined) return DASH;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

/** A decimal with at most `digits` fraction digits: 1.5 → "1,5". */
export function fmtDec(n, digits = 2) {
  if (n === null || n === undefined) return DASH;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
}

/** A percentage with one decimal: 12.5 → "12,5 %" (vi) / "12.5%" (en). */
export function fmtPct(n) {
  if (n === null || n === undefined) return DASH;
  const body = new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);
  return lang === 'vi' ? `${body}${NBSP}%` : `${body}%`;
}

/** Seconds → "m:ss" or "h:mm:ss" (465 → "7:45"). */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A change: {arrow: '▲'|'▼'|'■', text, dir: 'up'|'down'|'flat'|null}. `points` = percentage points. */
export function fmtChange(value, points = false) {
  if (value === null || value === undefined) return { arrow: '', text: DASH, dir: null };
  const dir = value > 0 ? 'up' : value < 0 ? 'down' : 'flat';
  const arrow = dir === 'up' ? '▲' : dir === 'down' ? '▼' : '■';
  const size = Math.abs(value);
  const num = new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(size);
  const text = points ? `${num}${NBSP}${t('points_pp')}` : (lang === 'vi' ? `${num}${NBSP}%` : `${num}%`);
  return { arrow, text, dir };
}

/** "2025-03-10" → "10/03/2025" (vi) / "2025-03-10" (en). */
export function fmtDate(iso) {
  if (!iso) return DASH;
  const [y, m, d] = iso.slice(0, 10).split('-');
  return lang === 'vi' ? `${d}/${m}/${y}` : `${y}-${m}-${d}`;
}

let regionNames = null;
let regionLang = null;
/** ISO 3166-1 alpha-2 → the country's name in the current language ("VN" → "Việt Nam"). */
export function countryName(code) {
  if (!code) return t('unknown');
  if (regionLang !== lang) {
    regionNames = new Intl.DisplayNames([lang], { type: 'region' });
    regionLang = lang;
  }
  try { return regionNames.of(code) ?? code; } catch { return code; }
}

/** Device keys (desktop, mobile, tablet) → words; other keys as they are. */
export function deviceName(key) {
  if (!key) return t('unknown');
  return ['desktop', 'mobile', 'tablet'].includes(key) ? t(key) : key;
}
