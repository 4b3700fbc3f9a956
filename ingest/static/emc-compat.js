/* OpenEMC drop-in for the EMC / Matomo tracking snippet: runs the _govaq (or _paq) command
   queue and sends Matomo tracking requests to the tracker URL, so existing pages only change
   the script URL. Commands: setTrackerUrl, setSiteId, setCustomUrl, setDocumentTitle,
   setReferrerUrl, setUserId, trackPageView, trackEvent, trackSiteSearch, trackLink, enableLinkTracking,
   trackDVC (a DVC usage event: service code, action, optional dossier code); unknown commands are
   ignored. No cookies. */
(function (w, d, n) {
  var url = "", site = "", custom = "", title = "", ref = d.referrer, uid = "", links = false;
  var downloads = /\.(pdf|docx?|xlsx?|pptx?|zip|rar|7z|csv|odt|ods)$/i;

  function send(extra) {
    if (!url || !site) return;
    var p = {
      idsite: site, rec: 1, url: custom || location.href, urlref: ref,
      res: screen.width + "x" + screen.height, send_image: 0, r: Math.random().toString().slice(2, 8)
    };
    if (uid) p.uid = uid;
    for (var k in extra) if (extra[k] !== undefined && extra[k] !== "") p[k] = extra[k];
    var q = [];
    for (k in p) q.push(encodeURIComponent(k) + "=" + encodeURIComponent(p[k]));
    var target = url + (url.indexOf("?") < 0 ? "?" : "&") + q.join("&");
    if (!(n.sendBeacon && n.sendBeacon(target))) new Image().src = target;
  }

  var api = {
    setTrackerUrl: function (u) { url = u; },
    setSiteId: function (s) { site = String(s); },
    setCustomUrl: function (u) {
      try { custom = new URL(u, location.href).href; } catch (e) { custom = u; }
    },
    setDocumentTitle: function (t) { title = t; },
    setReferrerUrl: function (r) { ref = r; },
    setUserId: function (u) { uid = u; },
    trackPageView: function (t) { send({ action_name: t || title || d.title }); },
    trackEvent: function (c, a, name, value) { send({ e_c: c, e_a: a, e_n: name, e_v: value }); },
    trackSiteSearch: function (k, cat, count) {
      send({ search: k, search_cat: cat, search_count: count, action_name: title || d.title });
    },
    trackLink: function (href, kind) {
      var o = {};
      o[kind == "download" ? "download" : "link"] = href;
      send(o);
    },
    trackDVC: function (code, action, dossier) {
      send({ e_c: "dvc", e_a: action || "view", e_n: dossier ? code + "/" + dossier : code });
    },
    enableLinkTracking: function () {
      if (links) return;
      links = true;
      d.addEventListener("click", function (e) {
        var a = e.target.closest && e.target.closest("a[href]");
        if (!a || !/^https?:/.test(a.href)) return;
        if (a.host != location.host) api.trackLink(a.href, "link");
        else if (downloads.test(a.pathname)) api.trackLink(a.href, "download");
      }, true);
    }
  };

  function run(cmd) {
    if (typeof cmd == "function") return cmd.call(api);
    var f = cmd && api[cmd[0]];
    if (f) f.apply(api, [].slice.call(cmd, 1));
  }

  function drain(name) {
    var q = w[name];
    if (q && q.emc) return;
    q = q || [];
    /* configuration first, as Matomo does, then everything else in order */
    var first = { setTrackerUrl: 1, setSiteId: 1 };
    for (var i = 0; i < q.length; i++) if (q[i] && first[q[i][0]]) run(q[i]);
    for (i = 0; i < q.length; i++) if (!(q[i] && first[q[i][0]])) run(q[i]);
    w[name] = { push: function () { for (var j = 0; j < arguments.length; j++) run(arguments[j]); }, emc: 1 };
  }

  drain("_govaq");
  drain("_paq");
  w.EmcTracker = api;
})(window, document, navigator);
