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
    days: 'ngày',
    // DVC (DESIGN §3.II)
    m_pageviews: 'Lượt xem trang', m_submissions: 'Hồ sơ nộp trực tuyến',
    m_submissions_l4: 'Hồ sơ nộp trực tuyến – DVC toàn trình', m_submissions_l3: 'Hồ sơ nộp trực tuyến – DVC một phần',
    m_submissions_per_pageview_pct: 'Tỷ lệ hồ sơ nộp / lượt xem trang',
    m_l4_services_with_dossiers: 'DVC toàn trình có phát sinh hồ sơ', m_l3_services_with_dossiers: 'DVC một phần có phát sinh hồ sơ',
    m_l4_services_with_dossiers_pct: 'Tỷ lệ DVC toàn trình có phát sinh hồ sơ', m_l4_services_pct: 'Tỷ lệ DVC toàn trình / tổng số thủ tục',
    m_l3_services_with_dossiers_pct: 'Tỷ lệ DVC một phần có phát sinh hồ sơ', m_l3_services_pct: 'Tỷ lệ DVC một phần / tổng số thủ tục',
    // one-stop (DESIGN §3.III)
    m_submitted: 'Hồ sơ nộp trên Cổng DVC', m_received_online: 'Hồ sơ tiếp nhận trực tuyến',
    m_received_total: 'Hồ sơ tiếp nhận từ các nguồn trực tuyến', m_received_all_channels: 'Hồ sơ tiếp nhận (mọi hình thức)', m_services_online_pct: 'Tỷ lệ thủ tục có hồ sơ trực tuyến',
    m_online_rate_pct: 'Tỷ lệ xử lý hồ sơ trực tuyến', m_avg_processing_time_s: 'Thời gian xử lý trung bình',
    m_l4_services_online_pct: 'Tỷ lệ DVC toàn trình (mức 4) phát sinh HS trực tuyến / DVC có phát sinh HS', m_l3_services_online_pct: 'Tỷ lệ DVC một phần (mức 3) phát sinh HS trực tuyến / DVC có phát sinh HS',
    m_l4_online_rate_pct: 'Tỷ lệ hồ sơ trực tuyến – DVC toàn trình', m_l3_online_rate_pct: 'Tỷ lệ hồ sơ trực tuyến – DVC một phần',
    m_resolved: 'Hồ sơ đã giải quyết', m_returned_on_time: 'Hồ sơ giải quyết đúng hạn',
    m_on_time_rate_pct: 'Tỷ lệ giải quyết đúng hạn', m_overdue_open: 'Hồ sơ quá hạn chưa giải quyết',
    dvc_per_day: 'Người xem và người truy cập theo ngày', viewers: 'Người xem', visitors: 'Người truy cập', all_indicators: 'Tất cả chỉ số',
    top_l4: '20 DVC toàn trình có nhiều hồ sơ trực tuyến nhất', top_l3: '20 DVC một phần có nhiều hồ sơ nhất',
    by_level: 'Theo cấp hành chính', admin_level: 'Cấp', received: 'Tiếp nhận', resolved: 'Đã giải quyết',
    resolved_on_time: 'Đúng hạn', on_time_rate_pct: 'Tỷ lệ đúng hạn',
    lvl_central: 'Trung ương', lvl_province: 'Tỉnh', lvl_district: 'Huyện', lvl_commune: 'Xã', lvl_unknown: '(không rõ)',
    service: 'Thủ tục', code: 'Mã', online_dossiers: 'Hồ sơ trực tuyến', dossiers: 'Hồ sơ', online_rate: 'Tỷ lệ trực tuyến',
    unknown_procedures: 'Thủ tục không có trong danh mục', quarterly: 'Báo cáo quý', year: 'Năm', quarter: 'Quý',
    download_xlsx: 'Tải báo cáo (XLSX)', value: 'Giá trị',
    forms_title: 'Biểu mẫu báo cáo', form_whole_year: 'Cả năm', form_needs_quarter: 'Báo cáo quý cần chọn quý.',
    form_quarterly: 'Báo cáo quý: cung cấp DVC trực tuyến (mục 6)', form_online_services: 'Dịch vụ công trực tuyến (mục VII, PL3A.2, PL3A.3)',
    form_resolution: 'Giải quyết hồ sơ trước, đúng, quá hạn theo cấp', form_sources: 'Hồ sơ tiếp nhận theo nguồn',
    form_rankings: 'Xếp hạng bộ, ngành, địa phương',
    ops_sink: 'Ghi vào kho dữ liệu (sink)', ops_running: 'Đang chạy', ops_stopped: 'Đã dừng', ops_no_sink: 'Không có',
    ops_ingest_rate: 'Tốc độ ghi (dòng/giây)', ops_pending_dead: 'Thư lỗi chờ xử lý', ops_max_lag_s: 'Độ trễ lớn nhất (giây)',
    ops_measured: 'Độ trễ đo lúc {t}', ops_not_measured: 'Độ trễ chưa được đo',
    ops_lag: 'Độ trễ xử lý theo nhóm và chủ đề (Kafka)', ops_group: 'Nhóm', ops_topic: 'Chủ đề', ops_partitions: 'Phân vùng',
    ops_messages: 'Số thông điệp', ops_seconds: 'Trễ (giây)', ops_ingest: 'Dữ liệu ghi vào ClickHouse', ops_table: 'Bảng',
    ops_rows_total: 'Tổng số dòng', ops_rows_per_s: 'Dòng/giây', ops_dead: 'Thư lỗi (dead letters) theo công đoạn',
    ops_stage: 'Công đoạn', ops_reason: 'Lý do',
    role_admin: 'Quản trị viên', agencies: 'Cơ quan',
    outside_scope: '(không tồn tại, hoặc nằm ngoài phạm vi cơ quan của mã truy cập này)',
    // rankings (Xếp hạng, DESIGN §3)
    rk_metric: 'Chỉ số xếp hạng', rk_group: 'Nhóm', rk_order: 'Thứ tự',
    rk_visits: 'Lượt truy cập', rk_pageviews: 'Lượt xem trang',
    rk_online_dossier_rate: 'Tỷ lệ hồ sơ trực tuyến', rk_on_time_rate: 'Tỷ lệ giải quyết đúng hạn',
    rk_ministries: 'Bộ, cơ quan ngang bộ', rk_provinces: 'Tỉnh, thành phố',
    rk_desc: 'Cao nhất trước', rk_asc: 'Thấp nhất trước',
    rk_title: 'Xếp hạng {g} theo {m}', rk_rank: 'Hạng', rk_agency: 'Cơ quan', rk_sites: 'Số trang',
    rk_without_sites: 'Chưa có trang nào: {list}', rk_without_data: 'Không có số liệu trong kỳ: {list}',
    // rankings at every level and self-service screens (issue 18)
    rk_children: 'Đơn vị trực thuộc', rk_parent: 'Cơ quan', rk_kind: 'Loại đơn vị', rk_all_kinds: 'Tất cả',
    rk_title_children: 'Xếp hạng các đơn vị trực thuộc {p} theo {m}',
    rk_own_title: 'Thứ hạng của {name}', rk_own: 'Hạng {rank}/{of} trong {peers}',
    rk_own_no_sites: 'Chưa có trang nào nên chưa được xếp hạng.', rk_own_no_data: 'Không có số liệu trong kỳ nên chưa được xếp hạng.',
    rk_peers_siblings: 'các đơn vị cùng cấp', rk_peers_provinces: 'các tỉnh, thành phố', rk_peers_ministries: 'các bộ, cơ quan ngang bộ',
    kind_ministry: 'Bộ', kind_ministry_level: 'Cơ quan ngang bộ', kind_government_agency: 'Cơ quan thuộc Chính phủ',
    kind_province: 'Tỉnh, thành phố', kind_department: 'Sở, ban, ngành', kind_commune: 'Xã, phường', kind_other: 'Đơn vị khác',
    type_portal: 'Cổng thông tin điện tử', type_dvc: 'Cổng dịch vụ công', type_onestop: 'Hệ thống một cửa điện tử',
    screen_catalog: 'Danh mục thủ tục', screen_accounts: 'Tài khoản', screen_agencies: 'Cơ quan và trang', screen_tokens: 'Mã truy cập',
    sv_row: 'Dòng', sv_column: 'Cột', sv_problem: 'Lỗi', sv_upload: 'Tải lên', sv_file: 'Tệp (.xlsx, .xls)',
    sv_import_catalog: 'Nhập danh mục thủ tục mới', sv_make_default: 'Đặt làm danh mục mặc định',
    sv_done_catalog: 'Đã nhập danh mục, phiên bản {v}.', sv_done_default: 'Đã đặt phiên bản {v} làm mặc định.',
    sv_done_accounts: 'Đã nhập danh sách tài khoản (lần nhập {v}).',
    sv_versions: 'Các phiên bản danh mục', sv_version: 'Phiên bản', sv_imported_at: 'Thời điểm nhập', sv_rows: 'Số dòng',
    sv_default: 'Mặc định', sv_show: 'Xem', sv_set_default: 'Đặt mặc định', sv_default_changes: 'Lịch sử đổi danh mục mặc định',
    sv_set_at: 'Thời điểm đặt', sv_no_catalog: 'Trang này chưa có danh mục thủ tục.', sv_services: 'Thủ tục của phiên bản {v}',
    // targets (chỉ tiêu) and reconciliation (đối soát), issue 18
    screen_targets: 'Chỉ tiêu', screen_reconciliation: 'Đối soát',
    tg_agency: 'Cơ quan', tg_all_agencies: 'Tất cả cơ quan', tg_import: 'Nhập chỉ tiêu (Agency, Metric, Year, Target)',
    tg_done: 'Đã lưu {n} chỉ tiêu, {p} dòng bị từ chối.', tg_refused_rows: 'Các dòng không được lưu',
    tg_target: 'Chỉ tiêu', tg_actual: 'Thực hiện', tg_progress: 'Tiến độ', tg_forecast: 'Dự báo cuối năm',
    tg_forecast_pct: 'Dự báo / chỉ tiêu', tg_status: 'Đánh giá', tg_on_track: 'Đạt', tg_behind: 'Không đạt',
    tg_no_forecast: 'Chưa dự báo', tg_laggards: 'Đơn vị có nguy cơ không đạt chỉ tiêu (kém nhất trước)',
    tg_title: 'Chỉ tiêu năm {y}',
    tg_formula: 'Số liệu đến {now}. Dự báo: tỷ lệ giữ nguyên tỷ lệ hiện tại; số lượng = số hiện tại × số ngày trong năm ÷ số ngày đã qua.',
    rc_upload: 'Tải lên số liệu của cơ quan (Site, Procedure, Month, Received, Resolved)',
    rc_done: 'Đã lưu {n} dòng, {p} dòng bị từ chối.', rc_month: 'Tháng',
    rc_reported_received: 'Tiếp nhận (cơ quan báo)', rc_our_received: 'Tiếp nhận (hệ thống nhận)',
    rc_reported_resolved: 'Giải quyết (cơ quan báo)', rc_our_resolved: 'Giải quyết (hệ thống nhận)', rc_diff: 'Chênh lệch',
    rc_total_received_diff: 'Tổng chênh lệch tiếp nhận', rc_total_resolved_diff: 'Tổng chênh lệch giải quyết',
    rc_differing_rows: 'Số dòng chênh lệch', rc_title: 'Đối soát theo thủ tục và tháng',
    rc_help: 'Chênh lệch = số cơ quan báo − số hệ thống nhận được. Chọn một dòng chênh lệch để xem theo ngày.',
    rc_days_title: 'Thủ tục {p} tại {s}, tháng {m}: hệ thống nhận theo ngày',
    sv_level: 'Mức độ',
    ac_import: 'Nhập danh sách tài khoản', ac_accounts: 'Tài khoản', ac_business: 'Doanh nghiệp', ac_individual: 'Công dân',
    ac_onestop_officer: 'Cán bộ một cửa', ac_linked_national: 'Liên kết Cổng DVC quốc gia',
    ac_new_in_period: 'Tài khoản mới trong kỳ', ac_active_in_period: 'Tài khoản hoạt động trong kỳ',
    ac_by_type: 'Tài khoản theo loại', ac_type: 'Loại', ac_imports: 'Các lần nhập danh sách', ac_import_id: 'Lần nhập',
    ag_tree: 'Cây cơ quan', ag_sites: 'Các trang', ag_id: 'Mã', ag_name: 'Tên', ag_kind: 'Loại', ag_type: 'Loại trang',
    ag_agency: 'Cơ quan', ag_parent: 'Cơ quan cấp trên', ag_domains: 'Tên miền', ag_save: 'Lưu',
    ag_add_agency: 'Thêm đơn vị trực thuộc', ag_add_site: 'Thêm trang', ag_edit_domains: 'Sửa tên miền của trang',
    ag_done_agency: 'Đã thêm đơn vị {id}.', ag_done_site: 'Đã thêm trang {id}.', ag_done_domains: 'Đã lưu tên miền của trang {id}.',
    tk_list: 'Các mã truy cập', tk_role: 'Quyền', tk_role_viewer: 'Xem', tk_role_editor: 'Quản lý',
    tk_created: 'Ngày tạo', tk_active: 'Đang dùng', tk_revoked: 'Đã thu hồi', tk_revoke: 'Thu hồi',
    tk_confirm_revoke: 'Thu hồi mã truy cập {id}?', tk_done_revoke: 'Đã thu hồi mã {id}.',
    tk_create_title: 'Tạo mã truy cập', tk_create: 'Tạo mã', tk_name_hint: 'Người hoặc hệ thống dùng mã',
    tk_shown_once: 'Mã truy cập ({role}) cho {agency} — chỉ hiển thị một lần, hãy lưu lại ngay:',
    tk_help_admin: 'Quản trị viên tạo mã xem hoặc mã quản lý cho mọi cơ quan.',
    tk_help_editor: 'Mã quản lý tạo mã xem cho cơ quan mình và các đơn vị trực thuộc.',
    // scheduled reports and contacts (issue 18 items 5, 6)
    screen_schedules: 'Báo cáo định kỳ', rs_list: 'Lịch gửi báo cáo', rs_log: 'Nhật ký gửi thư',
    rs_scope: 'Phạm vi', rs_agency_scope: 'Cơ quan', rs_period: 'Kỳ báo cáo', rs_weekly: 'Hằng tuần',
    rs_monthly: 'Hằng tháng', rs_quarterly: 'Hằng quý', rs_recipients: 'Người nhận (thư điện tử)',
    rs_forms: 'Biểu mẫu đính kèm', rs_form_resolution: 'Kết quả giải quyết hồ sơ theo cấp',
    rs_form_sources: 'Hồ sơ tiếp nhận theo nguồn',
    'rs_form_online-services': 'Mục VII, PL3A.2, PL3A.3', rs_form_quarterly: 'Mục 6 (chỉ báo cáo quý)',
    rs_create_title: 'Tạo lịch gửi báo cáo', rs_create: 'Tạo lịch',
    rs_help: 'Báo cáo của kỳ vừa kết thúc (tuần từ thứ Hai đến Chủ nhật, tháng, quý) được gửi tự động kèm các biểu mẫu (XLSX, DOCX).',
    rs_send_now: 'Gửi ngay', rs_delete: 'Xoá', rs_confirm_delete: 'Xoá lịch {id}?',
    rs_done_created: 'Đã tạo lịch {id}.', rs_done_deleted: 'Đã xoá lịch {id}.',
    rs_done_sent: 'Đã gửi báo cáo.', rs_done_queued: 'Chưa gửi được ({status}): {error}. Hệ thống sẽ thử lại.',
    rs_kind: 'Loại thư', rs_kind_report: 'Báo cáo', rs_kind_silence: 'Mất kết nối', rs_subject: 'Tiêu đề',
    rs_attempts: 'Số lần gửi', rs_sent_at: 'Đã gửi lúc', rs_last_error: 'Lỗi gần nhất',
    rs_status_pending: 'Chờ gửi', rs_status_sending: 'Đang gửi', rs_status_retry: 'Chờ gửi lại',
    rs_status_sent: 'Đã gửi', rs_status_failed: 'Gửi không thành công',
    ct_title_card: 'Đầu mối liên hệ (nhận thư báo mất kết nối)', ct_email: 'Thư điện tử', ct_title: 'Chức vụ',
    ct_alerts: 'Nhận thư báo mất kết nối', ct_add: 'Thêm đầu mối', ct_yes: 'Có', ct_no: 'Không',
    ct_letter: 'Văn bản đôn đốc kết nối (DOCX)',
    // connections (Kết nối, DESIGN §3)
    cn_status: 'Trạng thái', cn_all: 'Tất cả', cn_connected: 'Đang kết nối', cn_silent: 'Mất tín hiệu',
    cn_never_seen: 'Chưa từng nhận', cn_agency: 'Cơ quan', cn_all_agencies: 'Tất cả cơ quan',
    cn_sites: 'Kết nối theo trang', cn_last_event: 'Sự kiện cuối', cn_since: 'Cách đây (giờ)',
    cn_usual_gap: 'Khoảng nghỉ thường lệ (giờ)', cn_gaps: 'Khoảng mất dữ liệu (30 ngày)',
    cn_gap_hours: 'Số giờ thiếu', cn_checked: 'Kiểm tra lúc {t}', hours_short: 'giờ',
    // report filters (issue 17)
    filters: 'Bộ lọc', filter_hint: 'Bấm vào một dòng của bảng để lọc theo dòng đó.',
    filter_by_row: 'Lọc theo dòng này', remove_filter: 'Bỏ bộ lọc', clear_filters: 'Bỏ tất cả bộ lọc',
    op_is: 'là', op_is_not: 'không là', op_contains: 'có chứa', or: ' hoặc ',
    dim_country: 'Quốc gia', dim_city: 'Thành phố', dim_device: 'Thiết bị', dim_browser: 'Trình duyệt',
    dim_os: 'Hệ điều hành', dim_page: 'Trang', dim_entry_page: 'Trang vào', dim_exit_page: 'Trang ra',
    dim_referrer: 'Nguồn giới thiệu', dim_event: 'Sự kiện',
    // channels and campaigns (issue 17 item 2)
    dim_channel: 'Kênh', dim_utm_source: 'Nguồn (UTM)', dim_utm_medium: 'Phương tiện (UTM)',
    dim_utm_campaign: 'Chiến dịch (UTM)',
    channels: 'Kênh truy cập', channel: 'Kênh', campaigns: 'Chiến dịch (UTM)', campaign: 'Chiến dịch',
    utm_sources: 'Nguồn chiến dịch (UTM)', utm_source: 'Nguồn', no_campaign: '(không gắn thẻ)',
    ch_direct: 'Truy cập trực tiếp', ch_organic_search: 'Tìm kiếm tự nhiên', ch_social: 'Mạng xã hội',
    ch_email: 'Thư điện tử', ch_paid: 'Quảng cáo trả phí', ch_referral: 'Trang giới thiệu',
    ch_internal: 'Nội bộ (cùng cây cơ quan)',
    // events, goals and funnels (issue 17 items 3, 4)
    screen_events: 'Sự kiện và mục tiêu',
    ev_card_event: 'Sự kiện', ev_card_outbound: 'Liên kết ra ngoài', ev_card_download: 'Tải tệp',
    ev_card_search: 'Từ khóa tìm kiếm trên trang', ev_card_title: 'Tiêu đề trang',
    ev_key_event: 'Sự kiện', ev_key_outbound: 'Liên kết', ev_key_download: 'Tệp', ev_key_search: 'Từ khóa',
    ev_key_title: 'Trang', ev_hits_event: 'Số lần', ev_hits_outbound: 'Lượt bấm', ev_hits_download: 'Lượt tải',
    ev_hits_search: 'Lượt tìm', ev_hits_title: 'Lượt xem trang', ev_title: 'Tiêu đề', ev_value: 'Tổng giá trị',
    ev_card_goals: 'Mục tiêu (chuyển đổi)', ev_goal: 'Mục tiêu', ev_rule: 'Điều kiện', ev_page: 'Trang',
    ev_event: 'Sự kiện', ev_converting: 'Lượt truy cập đạt mục tiêu', ev_rate: 'Tỷ lệ chuyển đổi',
    ev_goal_visits: 'Trên {n} lượt truy cập của kỳ', ev_goals_one_site: 'Chọn một trang để xem mục tiêu của trang đó.',
    ev_card_funnel: 'Phễu chuyển đổi', ev_steps: 'Các bước', ev_show_funnel: 'Xem phễu',
    ev_steps_hint: 'Mỗi dòng một bước: page:/thu-tuc/*, event:nop-ho-so, event:TÊN:KHÓA=GIÁ TRỊ hoặc goal:MÃ',
    ev_dropoff: 'Rời bỏ', ev_from_first: 'So với bước 1', dim_goal: 'Mục tiêu',
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
    days: 'days',
    m_pageviews: 'Pageviews', m_submissions: 'Online submissions',
    m_submissions_l4: 'Online submissions – full-process services', m_submissions_l3: 'Online submissions – partial services',
    m_submissions_per_pageview_pct: 'Submissions / pageviews',
    m_l4_services_with_dossiers: 'Full-process services with dossiers', m_l3_services_with_dossiers: 'Partial services with dossiers',
    m_l4_services_with_dossiers_pct: 'Full-process services with dossiers (share)', m_l4_services_pct: 'Full-process services / all services',
    m_l3_services_with_dossiers_pct: 'Partial services with dossiers (share)', m_l3_services_pct: 'Partial services / all services',
    m_submitted: 'Submitted on the portal', m_received_online: 'Received online',
    m_received_total: 'Received from online sources', m_received_all_channels: 'Received (all channels)', m_services_online_pct: 'Services with online dossiers',
    m_online_rate_pct: 'Online processing rate', m_avg_processing_time_s: 'Average processing time',
    m_l4_services_online_pct: 'Full-process (level 4) services with online dossiers / all services with dossiers', m_l3_services_online_pct: 'Partial (level 3) services with online dossiers / all services with dossiers',
    m_l4_online_rate_pct: 'Online rate – full-process services', m_l3_online_rate_pct: 'Online rate – partial services',
    m_resolved: 'Resolved', m_returned_on_time: 'Resolved on time',
    m_on_time_rate_pct: 'On-time rate', m_overdue_open: 'Overdue, not resolved',
    dvc_per_day: 'Viewers and visitors per day', viewers: 'Viewers', visitors: 'Visitors', all_indicators: 'All indicators',
    top_l4: 'Top 20 full-process services by online dossiers', top_l3: 'Top 20 partial services by dossiers',
    by_level: 'By administrative level', admin_level: 'Level', received: 'Received', resolved: 'Resolved',
    resolved_on_time: 'On time', on_time_rate_pct: 'On-time rate',
    lvl_central: 'Central', lvl_province: 'Province', lvl_district: 'District', lvl_commune: 'Commune', lvl_unknown: '(unknown)',
    service: 'Service', code: 'Code', online_dossiers: 'Online dossiers', dossiers: 'Dossiers', online_rate: 'Online rate',
    unknown_procedures: 'Procedures missing from the catalog', quarterly: 'Quarterly report', year: 'Year', quarter: 'Quarter',
    download_xlsx: 'Download report (XLSX)', value: 'Value',
    forms_title: 'Report forms', form_whole_year: 'Whole year', form_needs_quarter: 'The quarterly report needs a quarter.',
    form_quarterly: 'Quarterly report: online public services (section 6)', form_online_services: 'Online public services (section VII, PL3A.2, PL3A.3)',
    form_resolution: 'Dossiers resolved before, on and after the due date by level', form_sources: 'Dossiers received by source',
    form_rankings: 'Rankings of ministries and provinces',
    ops_sink: 'Warehouse sink', ops_running: 'Running', ops_stopped: 'Stopped', ops_no_sink: 'None',
    ops_ingest_rate: 'Ingest rate (rows/s)', ops_pending_dead: 'Pending dead letters', ops_max_lag_s: 'Largest lag (s)',
    ops_measured: 'Lag measured at {t}', ops_not_measured: 'Lag not measured yet',
    ops_lag: 'Consumer lag by group and topic (Kafka)', ops_group: 'Group', ops_topic: 'Topic', ops_partitions: 'Partitions',
    ops_messages: 'Messages', ops_seconds: 'Lag (s)', ops_ingest: 'Rows written to ClickHouse', ops_table: 'Table',
    ops_rows_total: 'Total rows', ops_rows_per_s: 'Rows/s', ops_dead: 'Dead letters by stage',
    ops_stage: 'Stage', ops_reason: 'Reason',
    role_admin: 'Administrator', agencies: 'Agencies',
    outside_scope: '(does not exist, or lies outside this token\'s agency)',
    rk_metric: 'Ranked by', rk_group: 'Group', rk_order: 'Order',
    rk_visits: 'Visits', rk_pageviews: 'Pageviews',
    rk_online_dossier_rate: 'Online dossier rate', rk_on_time_rate: 'On-time rate',
    rk_ministries: 'Ministries and agencies', rk_provinces: 'Provinces and cities',
    rk_desc: 'Highest first', rk_asc: 'Lowest first',
    rk_title: '{g} ranked by {m}', rk_rank: 'Rank', rk_agency: 'Agency', rk_sites: 'Sites',
    rk_without_sites: 'No site yet: {list}', rk_without_data: 'No data in the period: {list}',
    // rankings at every level and self-service screens (issue 18)
    rk_children: 'Units below', rk_parent: 'Agency', rk_kind: 'Kind of unit', rk_all_kinds: 'All',
    rk_title_children: 'Units of {p} ranked by {m}',
    rk_own_title: 'Rank of {name}', rk_own: 'Rank {rank} of {of} among {peers}',
    rk_own_no_sites: 'No site yet, so not ranked.', rk_own_no_data: 'No data in the period, so not ranked.',
    rk_peers_siblings: 'units of the same level', rk_peers_provinces: 'provinces and cities', rk_peers_ministries: 'ministries and agencies',
    kind_ministry: 'Ministry', kind_ministry_level: 'Ministry-level agency', kind_government_agency: 'Government agency',
    kind_province: 'Province or city', kind_department: 'Department', kind_commune: 'Commune or ward', kind_other: 'Other unit',
    type_portal: 'Web portal', type_dvc: 'Public-service portal', type_onestop: 'One-stop system',
    screen_catalog: 'Service catalog', screen_accounts: 'Accounts', screen_agencies: 'Agencies and sites', screen_tokens: 'Tokens',
    sv_row: 'Row', sv_column: 'Column', sv_problem: 'Problem', sv_upload: 'Upload', sv_file: 'File (.xlsx, .xls)',
    sv_import_catalog: 'Import a new service catalog', sv_make_default: 'Make it the default catalog',
    sv_done_catalog: 'Catalog imported as version {v}.', sv_done_default: 'Version {v} is now the default.',
    sv_done_accounts: 'Account list imported (import {v}).',
    sv_versions: 'Catalog versions', sv_version: 'Version', sv_imported_at: 'Imported at', sv_rows: 'Rows',
    sv_default: 'Default', sv_show: 'Show', sv_set_default: 'Make default', sv_default_changes: 'Default catalog history',
    sv_set_at: 'Set at', sv_no_catalog: 'This site has no service catalog yet.', sv_services: 'Services of version {v}',
    // targets and reconciliation, issue 18
    screen_targets: 'Targets', screen_reconciliation: 'Reconciliation',
    tg_agency: 'Agency', tg_all_agencies: 'Every agency', tg_import: 'Import targets (Agency, Metric, Year, Target)',
    tg_done: '{n} targets stored, {p} rows refused.', tg_refused_rows: 'Rows not stored',
    tg_target: 'Target', tg_actual: 'Actual', tg_progress: 'Progress', tg_forecast: 'Year-end forecast',
    tg_forecast_pct: 'Forecast / target', tg_status: 'Assessment', tg_on_track: 'On track', tg_behind: 'Behind',
    tg_no_forecast: 'No forecast', tg_laggards: 'Laggards (worst first)',
    tg_title: 'Targets for {y}',
    tg_formula: 'Numbers up to {now}. Forecast: a rate stays at its value so far; a count = count so far × days in the year ÷ elapsed days.',
    rc_upload: "Upload the agency's own totals (Site, Procedure, Month, Received, Resolved)",
    rc_done: '{n} rows stored, {p} rows refused.', rc_month: 'Month',
    rc_reported_received: 'Received (agency)', rc_our_received: 'Received (warehouse)',
    rc_reported_resolved: 'Resolved (agency)', rc_our_resolved: 'Resolved (warehouse)', rc_diff: 'Difference',
    rc_total_received_diff: 'Received, total difference', rc_total_resolved_diff: 'Resolved, total difference',
    rc_differing_rows: 'Rows that differ', rc_title: 'Reconciliation per procedure and month',
    rc_help: "Difference = the agency's number − what the warehouse received. Choose a differing row to see it per day.",
    rc_days_title: 'Procedure {p} at {s}, {m}: received per day',
    sv_level: 'Level',
    ac_import: 'Import an account list', ac_accounts: 'Accounts', ac_business: 'Businesses', ac_individual: 'Citizens',
    ac_onestop_officer: 'One-stop officers', ac_linked_national: 'Linked to the national portal',
    ac_new_in_period: 'New accounts in the period', ac_active_in_period: 'Active accounts in the period',
    ac_by_type: 'Accounts by type', ac_type: 'Type', ac_imports: 'Account list imports', ac_import_id: 'Import',
    ag_tree: 'Agency tree', ag_sites: 'Sites', ag_id: 'Id', ag_name: 'Name', ag_kind: 'Kind', ag_type: 'Site type',
    ag_agency: 'Agency', ag_parent: 'Parent agency', ag_domains: 'Domains', ag_save: 'Save',
    ag_add_agency: 'Add a unit below', ag_add_site: 'Add a site', ag_edit_domains: 'Edit a site\'s domains',
    ag_done_agency: 'Unit {id} added.', ag_done_site: 'Site {id} added.', ag_done_domains: 'Domains of site {id} saved.',
    tk_list: 'Tokens', tk_role: 'Role', tk_role_viewer: 'Viewer', tk_role_editor: 'Editor',
    tk_created: 'Created', tk_active: 'Active', tk_revoked: 'Revoked', tk_revoke: 'Revoke',
    tk_confirm_revoke: 'Revoke token {id}?', tk_done_revoke: 'Token {id} revoked.',
    tk_create_title: 'Create a token', tk_create: 'Create', tk_name_hint: 'Who or what uses it',
    tk_shown_once: '{role} token for {agency} — shown once, store it now:',
    tk_help_admin: 'The admin creates viewer or editor tokens for any agency.',
    tk_help_editor: 'An editor token creates viewer tokens for its agency and the units below it.',
    // scheduled reports and contacts (issue 18 items 5, 6)
    screen_schedules: 'Scheduled reports', rs_list: 'Report schedules', rs_log: 'E-mail log',
    rs_scope: 'Scope', rs_agency_scope: 'Agency', rs_period: 'Period', rs_weekly: 'Weekly',
    rs_monthly: 'Monthly', rs_quarterly: 'Quarterly', rs_recipients: 'Recipients (e-mail)',
    rs_forms: 'Forms attached', rs_form_resolution: 'Resolution by administrative level',
    rs_form_sources: 'Dossiers received by source',
    'rs_form_online-services': 'Section VII, PL3A.2, PL3A.3', rs_form_quarterly: 'Section 6 (quarterly only)',
    rs_create_title: 'Create a report schedule', rs_create: 'Create',
    rs_help: 'The report of the period that just ended (week Monday to Sunday, month, quarter) is mailed automatically with the forms (XLSX, DOCX).',
    rs_send_now: 'Send now', rs_delete: 'Delete', rs_confirm_delete: 'Delete schedule {id}?',
    rs_done_created: 'Schedule {id} created.', rs_done_deleted: 'Schedule {id} deleted.',
    rs_done_sent: 'Report sent.', rs_done_queued: 'Not sent yet ({status}): {error}. It will be retried.',
    rs_kind: 'Kind', rs_kind_report: 'Report', rs_kind_silence: 'Lost connection', rs_subject: 'Subject',
    rs_attempts: 'Attempts', rs_sent_at: 'Sent at', rs_last_error: 'Last error',
    rs_status_pending: 'Pending', rs_status_sending: 'Sending', rs_status_retry: 'Waiting to retry',
    rs_status_sent: 'Sent', rs_status_failed: 'Failed',
    ct_title_card: 'Contacts (lost-connection e-mails)', ct_email: 'E-mail', ct_title: 'Position',
    ct_alerts: 'Gets lost-connection e-mails', ct_add: 'Add contact', ct_yes: 'Yes', ct_no: 'No',
    ct_letter: 'Connection letter (DOCX)',
    cn_status: 'Status', cn_all: 'All', cn_connected: 'Connected', cn_silent: 'Silent',
    cn_never_seen: 'Never seen', cn_agency: 'Agency', cn_all_agencies: 'All agencies',
    cn_sites: 'Connection per site', cn_last_event: 'Last event', cn_since: 'Since (hours)',
    cn_usual_gap: 'Usual gap (hours)', cn_gaps: 'Gaps (30 days)',
    cn_gap_hours: 'Hours missing', cn_checked: 'Checked at {t}', hours_short: 'h',
    // report filters (issue 17)
    filters: 'Filters', filter_hint: 'Click a table row to filter by it.',
    filter_by_row: 'Filter by this row', remove_filter: 'Remove filter', clear_filters: 'Remove all filters',
    op_is: 'is', op_is_not: 'is not', op_contains: 'contains', or: ' or ',
    dim_country: 'Country', dim_city: 'City', dim_device: 'Device', dim_browser: 'Browser',
    dim_os: 'Operating system', dim_page: 'Page', dim_entry_page: 'Entry page', dim_exit_page: 'Exit page',
    dim_referrer: 'Referrer', dim_event: 'Event',
    dim_channel: 'Channel', dim_utm_source: 'Source (UTM)', dim_utm_medium: 'Medium (UTM)',
    dim_utm_campaign: 'Campaign (UTM)',
    channels: 'Channels', channel: 'Channel', campaigns: 'Campaigns (UTM)', campaign: 'Campaign',
    utm_sources: 'Campaign sources (UTM)', utm_source: 'Source', no_campaign: '(not tagged)',
    ch_direct: 'Direct', ch_organic_search: 'Organic search', ch_social: 'Social',
    ch_email: 'Email', ch_paid: 'Paid', ch_referral: 'Referral',
    ch_internal: 'Internal (same agency tree)',
    // events, goals and funnels (issue 17 items 3, 4)
    screen_events: 'Events and goals',
    ev_card_event: 'Events', ev_card_outbound: 'Outbound links', ev_card_download: 'Downloads',
    ev_card_search: 'Site search terms', ev_card_title: 'Page titles',
    ev_key_event: 'Event', ev_key_outbound: 'Link', ev_key_download: 'File', ev_key_search: 'Term',
    ev_key_title: 'Page', ev_hits_event: 'Count', ev_hits_outbound: 'Clicks', ev_hits_download: 'Downloads',
    ev_hits_search: 'Searches', ev_hits_title: 'Pageviews', ev_title: 'Title', ev_value: 'Total value',
    ev_card_goals: 'Goals (conversions)', ev_goal: 'Goal', ev_rule: 'Rule', ev_page: 'Page',
    ev_event: 'Event', ev_converting: 'Converting visits', ev_rate: 'Conversion rate',
    ev_goal_visits: 'Out of {n} visits in the period', ev_goals_one_site: 'Choose one site to see its goals.',
    ev_card_funnel: 'Funnel', ev_steps: 'Steps', ev_show_funnel: 'Show funnel',
    ev_steps_hint: 'One step per line: page:/procedures/*, event:submit, event:NAME:KEY=VALUE or goal:ID',
    ev_dropoff: 'Drop-off', ev_from_first: 'Of step 1', dim_goal: 'Goal',
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

/** Seconds → days with one decimal: 271800 → "3,1 ngày" (vi) / "3.1 days" (en). */
export function fmtDays(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const body = new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(seconds / 86400);
  return `${body}${NBSP}${t('days')}`;
}

/** "2025-03-10" → "10/03/2025" (vi) / "2025-03-10" (en). */
export function fmtDate(iso) {
  if (!iso) return DASH;
  const [y, m, d] = iso.slice(0, 10).split('-');
  return lang === 'vi' ? `${d}/${m}/${y}` : `${y}-${m}-${d}`;
}

/** An instant (ISO with offset) in the browser's timezone: "12/03/2025 10:05" (vi) /
 * "2025-03-12 10:05" (en), by hand like fmtDate so both languages read the same everywhere. */
export function fmtDateTime(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  const day = lang === 'vi'
    ? `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()}`
    : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day} ${p(d.getHours())}:${p(d.getMinutes())}`;
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

/** A channel id (issue 17 item 2: direct, organic_search, social, email, paid, referral,
 * internal) in the chosen language; '' (visits stored before channels) = unknown. */
export function channelName(key) {
  if (!key) return t('unknown');
  const name = t(`ch_${key}`);
  return name === `ch_${key}` ? key : name;
}
