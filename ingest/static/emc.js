/* OpenEMC tracker: cookieless pageviews, single-page navigation, opt-in link events.
   <script defer src="https://COLLECTOR/emc.js" data-site="SITE_ID"></script>
   data-links: also send outbound-link and download clicks; data-dnt: respect Do Not Track.
   emc("rating", {score: 1-5, procedure: "1.000123"}): a satisfaction rating.
   emc("name", {key: "value"}, 12.5): a custom event with properties and an optional value.
   Pageviews carry the page title (first 500 characters). */
(function (w, d, n, l) {
  var s = d.currentScript, site = s && s.getAttribute("data-site");
  if (!site) return;
  var api = s.getAttribute("data-api") || s.src.replace(/[^/]*$/, "collect"),
    ref = d.referrer, last;
  if (s.hasAttribute("data-dnt") && (n.doNotTrack == "1" || w.doNotTrack == "1")) return;
  function send(t, name, props, x) {
    var b = JSON.stringify({
      s: site, u: l.href, r: ref, t: t, n: name || "", w: screen.width, p: props, x: x
    });
    if (!(n.sendBeacon && n.sendBeacon(api, b)))
      fetch(api, { method: "POST", body: b, keepalive: true, credentials: "omit" })["catch"](
        function () {}
      );
  }
  function page() {
    if (last == l.href) return;
    if (last) ref = last;
    last = l.href;
    send("p", d.title.slice(0, 500));
  }
  var h = w.history, push = h.pushState;
  h.pushState = function () {
    push.apply(h, arguments);
    page();
  };
  w.addEventListener("popstate", page);
  if (s.hasAttribute("data-links"))
    d.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[href]");
      if (!a) return;
      if (a.host != l.host) send("e", "outbound:" + a.href);
      else if (/\.(pdf|docx?|xlsx?|pptx?|zip|rar|7z|csv|odt)$/i.test(a.pathname))
        send("e", "download:" + a.pathname);
    }, true);
  w.emc = function (name, props, x) {
    send("e", name, props, x);
  };
  page();
})(window, document, navigator, location);
