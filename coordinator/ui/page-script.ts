/**
 * The status page's browser script, served inline (no asset from elsewhere). Plain ES2017 that polls
 * `ui/state` every 2 s (once a minute while the tab is hidden) for one page of services (those
 * needing attention first, filtered by name or to the unhealthy ones) and only the latency points newer than its last poll (`since` = the last
 * `cursor`), which it merges into the series it keeps; then it redraws. The token (a `read` one is
 * enough) comes from `#token=` (never sent to a server) or a form, and lives in sessionStorage. DOM
 * nodes are built with textContent only, so no reported text is HTML. In a cluster it learns the
 * members' urls from `status.cluster` and, when the coordinator it reads stops answering, reads
 * the next member that answers (the one it came from first), saying which in the header.
 */
export const PAGE_SCRIPT = String.raw`
"use strict";
(function () {
  var TOKEN_KEY = "healthmesh.token";
  var POLL_MS = 2000;
  // A hidden tab polls once a minute (each poll is a billed request on a Workers coordinator); it
  // polls at once when shown again (the visibilitychange handler below).
  var HIDDEN_POLL_MS = 60000;
  var PAGE = 20;
  var KEEP_POINTS = 60;
  var view = { q: "", unhealthy: false, offset: 0 };
  var series = {};
  var cursor = 0;
  var generation = 0;
  var shownNames = "";
  var COLORS = ["#1f77b4", "#e377c2", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#bcbd22"];
  var token = null;
  var timer = null;
  var root = document.getElementById("app");
  var conn = document.getElementById("conn");
  var updated = document.getElementById("updated");
  var summaryLine = null;
  var pageLine = null;
  var prev = null;
  var next = null;
  // Where ui/state is read: "" is the coordinator that served the page, then the cluster's members.
  var sources = [""];
  var source = 0;
  var failedInRow = 0;

  var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  try {
    if (fromHash) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    token = sessionStorage.getItem(TOKEN_KEY);
  } catch (e) {
    token = fromHash ? decodeURIComponent(fromHash[1]) : null;
  }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function s(tag, attrs, children) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    for (var key in attrs || {}) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
  }
  function append(node, children) {
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
  }
  function slug(text) {
    return String(text).replace(/[^a-z0-9]+/gi, "-");
  }
  function age(ms) {
    if (ms < 0) ms = 0;
    var sec = Math.round(ms / 1000);
    if (sec < 90) return sec + "s";
    if (sec < 5400) return Math.round(sec / 60) + "m";
    if (sec < 172800) return Math.round(sec / 3600) + "h";
    return Math.round(sec / 86400) + "d";
  }
  function clock(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }
  function tally(v) {
    return "down " + v.down + " \u00b7 up " + v.up + " \u00b7 abstain " + v.abstain;
  }

  function verdictBox(svc, endpoint) {
    var e = svc[endpoint];
    var live = svc.active === endpoint;
    return h("div", { class: "verdict " + e.verdict, "data-testid": "verdict-" + svc.name + "-" + endpoint }, [
      h("div", {}, [h("strong", { text: endpoint }), live ? " " : null, live ? h("span", { class: "badge up", text: "live" }) : null]),
      h("div", { class: "big", text: e.verdict }),
      h("div", { class: "sub", text: tally(e.votes) }),
      h("div", { class: "sub", text: e.target }),
    ]);
  }

  function dnsTable(svc, now) {
    var names = Object.keys(svc.dns);
    var targets = {};
    names.forEach(function (p) { targets[String(svc.dns[p].target)] = true; });
    var disagree = Object.keys(targets).length > 1;
    var rows = names.map(function (p) {
      var d = svc.dns[p];
      var off = d.target !== svc.target;
      return h("tr", { class: off ? "divergent" : "", "data-testid": "dns-" + svc.name + "-" + p, "data-divergent": off ? "true" : "false" }, [
        h("td", {}, [h("strong", { text: p })]),
        h("td", {}, [h("span", { class: "badge " + d.state, text: d.state }), d.error ? h("small", { class: "sub", text: " " + d.error }) : null]),
        h("td", { class: "sub", text: d.target === null ? "(nothing)" : d.target }),
        h("td", { class: "sub", "data-testid": "ns-" + svc.name + "-" + p, text: nameserverText(d.serving) }),
        h("td", { class: "sub", text: d.updatedAt ? age(now - Date.parse(d.updatedAt)) + " ago" : "" }),
      ]);
    });
    return [
      disagree ? h("div", { class: "alert", "data-testid": "divergence-" + svc.name, text: "Providers disagree: " + names.map(function (p) { return p + " serves " + (svc.dns[p].target || "nothing"); }).join(", ") }) : null,
      h("div", { class: "scroll" }, [h("table", {}, [
        h("thead", {}, [h("tr", {}, [h("th", { text: "provider" }), h("th", { text: "state" }), h("th", { text: "serving" }), h("th", { text: "nameservers answer" }), h("th", { text: "updated" })])]),
        h("tbody", {}, rows),
      ])]),
    ];
  }

  // What the provider's own nameservers answer (a DNS query, not its API): the CONTRACT's "what the world sees".
  function nameserverText(serving) {
    if (!serving) return "\u2014";
    var values = serving.values === null ? "nameservers disagree" : serving.values.length ? serving.values.join(", ") : "(nothing)";
    return values + (serving.lagging ? " \u2014 lagging behind the API" : serving.matches ? " \u2713" : " \u2014 not yet");
  }

  function probeGrid(svc, data, now) {
    var rows = data.status.probes.map(function (p) {
      var stale = p.silent || p.lastSeen === null;
      var cells = ["primary", "secondary"].map(function (endpoint) {
        var r = svc.results.filter(function (x) { return x.probe === p.id && x.endpoint === endpoint; })[0];
        if (!r || r.ok === null) return h("td", { class: "cell none", text: "\u2013" });
        return h("td", { class: "cell", "data-testid": "cell-" + svc.name + "-" + p.id + "-" + endpoint }, [
          h("span", { class: r.ok ? "ok" : "fail", text: r.ok ? "\u2713 ok" : "\u2717 " + (r.status ? r.status : "fail") }),
          " ",
          h("span", { class: "badge " + r.vote, text: r.vote }),
          h("small", { text: (r.latencyMs !== undefined ? Math.round(r.latencyMs) + " ms \u00b7 " : "") + (r.checkedAt ? age(now - Date.parse(r.checkedAt)) + " ago" : "") }),
          r.error ? h("small", { text: r.error }) : null,
        ]);
      });
      var seen = p.lastSeen ? "seen " + age(now - Date.parse(p.lastSeen)) + " ago" : "never reported";
      return h("tr", { class: stale ? "stale" : "", "data-testid": "probe-" + svc.name + "-" + p.id, "data-stale": stale ? "true" : "false" }, [
        h("td", {}, [
          h("strong", { text: p.id }), " ",
          stale ? h("span", { class: "badge stale", text: "stale" }) : null,
          !p.healthy ? h("span", { class: "badge error", text: "unhealthy" }) : null,
          h("small", { class: "sub", text: p.provider + " \u00b7 " + p.region + " \u00b7 " + seen }),
        ]),
      ].concat(cells));
    });
    return h("div", { class: "scroll" }, [h("table", {}, [
      h("thead", {}, [h("tr", {}, [h("th", { text: "probe" }), h("th", { text: "primary" }), h("th", { text: "secondary" })])]),
      h("tbody", {}, rows),
    ])]);
  }

  function chart(svc, endpoint, data, now) {
    var probes = data.status.probes.map(function (p) { return p.id; });
    var series = data.latency.filter(function (x) { return x.service === svc.name && x.endpoint === endpoint; });
    var earliest = now;
    series.forEach(function (x) { if (x.points.length) earliest = Math.min(earliest, Date.parse(x.points[0].at)); });
    var windowMs = Math.min(Math.max(now - earliest, data.intervalMs * 10), Math.max(60000, data.intervalMs * 60));
    var start = now - windowMs;
    var max = 1;
    series.forEach(function (x) { x.points.forEach(function (pt) { if (pt.latencyMs !== null && pt.latencyMs > max) max = pt.latencyMs; }); });
    var W = 300, H = 70, pad = 4;
    var xOf = function (at) { return pad + ((Date.parse(at) - start) / windowMs) * (W - 2 * pad); };
    var yOf = function (ms) { return H - pad - (ms / max) * (H - 2 * pad); };
    var marks = [];
    series.forEach(function (x) {
      var color = COLORS[probes.indexOf(x.probe) % COLORS.length] || COLORS[0];
      var pts = x.points.filter(function (pt) { return Date.parse(pt.at) >= start; });
      var line = pts.filter(function (pt) { return pt.latencyMs !== null; }).map(function (pt) { return xOf(pt.at).toFixed(1) + "," + yOf(pt.latencyMs).toFixed(1); });
      if (line.length > 1) marks.push(s("polyline", { points: line.join(" "), fill: "none", stroke: color, "stroke-width": 1.5 }));
      pts.forEach(function (pt) {
        if (!pt.ok) marks.push(s("circle", { cx: xOf(pt.at).toFixed(1), cy: pad + 2, r: 2.2, fill: "#d92d20" }, [s("title", { text: x.probe + " failed at " + clock(pt.at) })]));
      });
    });
    var legend = probes.map(function (id, i) {
      return h("span", {}, [h("i", { style: "background:" + COLORS[i % COLORS.length] }), id]);
    });
    return h("div", { class: "chart", "data-testid": "chart-" + svc.name + "-" + endpoint }, [
      h("div", { class: "sub", text: endpoint + " latency, last " + age(windowMs) + " (max " + Math.round(max) + " ms; red dots: failed checks)" }),
      s("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", role: "img", "aria-label": svc.name + " " + endpoint + " latency" }, marks),
      h("div", { class: "legend" }, legend),
    ]);
  }

  function serviceCard(svc, data, now) {
    return h("section", { class: "card", "data-testid": "service-" + svc.name }, [
      h("h2", { text: svc.name }),
      h("div", { class: "sub", text: svc.router + " \u2192 " + svc.target }),
      h("div", { class: "live" }, [
        h("span", { class: "sub", text: "live path" }),
        h("span", { class: "path " + svc.active, "data-testid": "active-" + svc.name, text: svc.active }),
        h("span", { class: "badge " + svc.mode, "data-testid": "mode-" + svc.name, text: svc.mode }),
        svc.lastSwitchAt ? h("span", { class: "sub", text: "switched " + age(now - Date.parse(svc.lastSwitchAt)) + " ago" }) : null,
      ]),
      h("div", { class: "verdicts" }, [verdictBox(svc, "primary"), verdictBox(svc, "secondary")]),
      h("h3", { text: "DNS providers" }),
    ].concat(dnsTable(svc, now), [
      h("h3", { text: "Probes" }),
      probeGrid(svc, data, now),
      h("h3", { text: "Latency" }),
      h("div", { class: "charts" }, [chart(svc, "primary", data, now), chart(svc, "secondary", data, now)]),
    ]));
  }

  function alertsCard(data) {
    if (!data.alerts.length) return null;
    var rows = data.alerts.map(function (a) {
      return h("tr", { "data-testid": "alert-" + a.name }, [
        h("td", {}, [h("strong", { text: a.name })]),
        h("td", { class: "sub", text: a.type }),
        h("td", { text: String(a.delivered) }),
        h("td", { class: a.failed ? "fail" : "", text: String(a.failed) }),
      ]);
    });
    return h("section", { class: "card" }, [
      h("h2", { text: "Alert destinations" }),
      h("div", { class: "scroll" }, [h("table", {}, [
        h("thead", {}, [h("tr", {}, [h("th", { text: "destination" }), h("th", { text: "type" }), h("th", { text: "delivered" }), h("th", { text: "failed attempts" })])]),
        h("tbody", {}, rows),
      ])]),
    ]);
  }

  function timeline(data) {
    var items = data.events.slice().reverse().map(function (e) {
      return h("li", { "data-type": e.type }, [
        h("time", { datetime: e.at, text: clock(e.at) }),
        h("div", {}, [h("span", { class: "type " + slug(e.type), text: e.type }), e.message]),
      ]);
    });
    return h("section", { class: "card" }, [
      h("h2", { text: "Recent events" }),
      items.length ? h("ol", { class: "timeline", "data-testid": "timeline" }, items) : h("p", { class: "sub", text: "No events yet" }),
    ]);
  }

  function changeView(change) {
    for (var key in change) view[key] = change[key];
    series = {};
    cursor = 0;
    generation++;
    poll();
  }

  function controls() {
    if (summaryLine) return;
    var search = h("input", { type: "search", placeholder: "Filter services by name", "aria-label": "Filter services by name", "data-testid": "filter" });
    var timer = null;
    search.addEventListener("input", function () {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(function () { changeView({ q: search.value.trim(), offset: 0 }); }, 250);
    });
    var only = h("input", { type: "checkbox", "data-testid": "only-unhealthy" });
    only.addEventListener("change", function () { changeView({ unhealthy: only.checked, offset: 0 }); });
    prev = h("button", { type: "button", text: "\u2190 previous" });
    next = h("button", { type: "button", text: "next \u2192" });
    prev.addEventListener("click", function () { changeView({ offset: Math.max(0, view.offset - PAGE) }); });
    next.addEventListener("click", function () { changeView({ offset: view.offset + PAGE }); });
    summaryLine = h("div", { class: "summary", "data-testid": "summary" });
    pageLine = h("span", { class: "sub", "data-testid": "page" });
    var nav = h("nav", { class: "controls", "aria-label": "Services shown" }, [
      summaryLine, search, h("label", {}, [only, " only those needing attention"]), prev, pageLine, next,
    ]);
    root.parentNode.insertBefore(nav, root);
  }

  function merge(data) {
    data.latency.forEach(function (x) {
      var key = x.probe + "\u0000" + x.service + "\u0000" + x.endpoint;
      var kept = series[key];
      if (!kept) kept = series[key] = { probe: x.probe, service: x.service, endpoint: x.endpoint, points: [] };
      kept.points = kept.points.concat(x.points).slice(-KEEP_POINTS);
    });
    cursor = data.cursor;
    data.latency = Object.keys(series).map(function (key) { return series[key]; });
  }

  function summarize(data) {
    var s = data.summary;
    var p = data.page;
    summaryLine.replaceChildren(
      h("strong", { text: String(s.services) }), " services \u00b7 ",
      h("strong", { text: String(s.unhealthy) }), " need attention \u00b7 ",
      String(s.active.secondary) + " on the secondary \u00b7 " + String(s.mode.paused + s.mode.pinned) + " paused or pinned \u00b7 " +
      "probes: " + (s.probes.total - s.probes.silent) + " of " + s.probes.total + " reporting"
    );
    var last = Math.min(p.offset + data.status.services.length, p.matched);
    pageLine.textContent = p.matched ? (p.offset + 1) + "\u2013" + last + " of " + p.matched : "no service matches";
    prev.disabled = p.offset === 0;
    next.disabled = last >= p.matched;
  }

  function render(data) {
    controls();
    merge(data);
    summarize(data);
    var now = Date.parse(data.status.now);
    var nodes = data.status.services.map(function (svc) { return serviceCard(svc, data, now); });
    nodes.push(alertsCard(data), timeline(data));
    root.replaceChildren.apply(root, nodes.filter(Boolean));
    document.getElementById("zone").textContent = data.status.zone;
    updated.textContent = "updated " + clock(data.status.now) + (data.public ? " \u00b7 public page" : "");
    document.title = (data.summary.active.secondary ? "\u26a0 " : "") + "healthmesh \u00b7 " + data.status.zone;
  }

  function learnMembers(cluster) {
    if (!cluster || !cluster.members) return;
    var current = sources[source];
    var known = [""];
    cluster.members.forEach(function (m) {
      var url = String(m.url || "").replace(/\/+$/, "");
      if (!/^https?:\/\//.test(url) || url === location.origin || known.indexOf(url) >= 0) return;
      known.push(url);
    });
    sources = known;
    source = Math.max(0, sources.indexOf(current));
  }

  function sourceName() {
    return sources[source] ? " via " + sources[source].replace(/^https?:\/\//, "") : "";
  }

  // The coordinator read did not answer: the next source is asked at once, until each was tried once.
  function nextSource() {
    failedInRow++;
    source = (source + 1) % sources.length;
    return failedInRow < sources.length;
  }

  function setConn(ok, text) {
    conn.className = "conn " + (ok ? "ok" : "bad");
    conn.textContent = text;
  }

  function showLogin(message) {
    stop();
    setConn(false, "token needed");
    var input = h("input", { type: "password", autocomplete: "current-password", placeholder: "Operator token (a read token is enough)", "aria-label": "Operator token" });
    var form = h("form", { class: "login" }, [input, h("button", { type: "submit", text: "Show status" })]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      token = input.value.trim();
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: keep it in memory */ }
      poll();
    });
    root.replaceChildren(h("section", { class: "card" }, [
      h("h2", { text: "This status page needs an operator token" }),
      h("p", { class: "sub", text: message }),
      form,
    ]));
    input.focus();
  }

  function stop() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function pollDelay() {
    return document.visibilityState === "hidden" ? HIDDEN_POLL_MS : POLL_MS;
  }

  function poll() {
    stop();
    var headers = token ? { authorization: "Bearer " + token } : {};
    var query = "limit=" + PAGE + "&offset=" + view.offset + "&since=" + cursor +
      (view.q ? "&service=" + encodeURIComponent(view.q) : "") + (view.unhealthy ? "&unhealthy=true" : "");
    var asked = generation;
    var base = sources[source];
    fetch((base ? base + "/" : "") + "ui/state?" + query, { headers: headers, cache: "no-store", mode: base ? "cors" : "same-origin" })
      .then(function (res) {
        if (res.status === 401) {
          showLogin(token ? "The saved token was refused; enter it again." : "Enter the token, or open the link printed by the coordinator.");
          return;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json().then(function (data) {
          if (asked !== generation) return; // the view changed while this answer was on its way
          failedInRow = 0;
          learnMembers(data.status.cluster);
          var names = data.status.services.map(function (x) { return x.name; }).join("\u0000");
          // A service new on this page has no history here yet: ask again for the page's whole history.
          var refill = cursor !== 0 && names !== shownNames;
          shownNames = names;
          render(data);
          if (refill) {
            series = {};
            cursor = 0;
            generation++;
            setConn(true, "live" + sourceName());
            return poll();
          }
          setConn(true, "live" + sourceName());
          timer = setTimeout(poll, pollDelay());
        });
      })
      .catch(function (error) {
        if (asked !== generation) return;
        var failed = base || "this coordinator";
        if (nextSource()) {
          setConn(false, "trying " + (sources[source] || "this coordinator") + " (" + failed + ": " + error.message + ")");
          return poll();
        }
        failedInRow = 0;
        setConn(false, "offline: " + error.message);
        timer = setTimeout(poll, pollDelay());
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && timer !== null) poll();
  });
  poll();
})();
`;
