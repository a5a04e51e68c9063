// Skiff topology page: renders /api/topology and polls it twice a second.
// Plain DOM, no framework, no build step.
"use strict";
(function () {
  var POLL_MS = 500;
  // Hues and patterns per shard: the pattern alone tells shards apart.
  var HUES = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  var PATTERNS = ["solid", "diagonal", "dots", "horizontal", "cross", "vertical", "checker", "backdiag"];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function tag(text, kind) { var s = el("span", { "class": "tag " + (kind || "") }, text); return s; }
  function short(id) { return id ? id.slice(0, 8) : "—"; }

  function stateKind(s) { return s === "ok" || s === "up" || s === "online" ? "good" : (s === "failed" || s === "down" || s === "odown" || s === "unreachable" ? "bad" : "warn"); }

  function renderRaft(t) {
    var box = document.getElementById("raft");
    box.textContent = "";
    var r = t.raft;
    if (!r) { box.appendChild(el("p", null, "no Raft member")); return; }
    var p = el("p");
    p.appendChild(document.createTextNode("this member: "));
    p.appendChild(tag(r.state, r.state === "leader" || r.state === "follower" ? "good" : "warn"));
    p.appendChild(document.createTextNode(" · term " + r.term + " · leader " + short(r.leader_id) + " · commit " + r.commit_index + " · applied " + r.applied_index + " · epoch " + r.current_epoch));
    if (!r.has_leader) { p.appendChild(document.createTextNode(" ")); p.appendChild(tag("no leader", "bad")); }
    box.appendChild(p);
    var wrap = el("div", { "class": "scroll" });
    var tb = el("table", { id: "members" });
    var h = el("tr"); ["member", "id", "suffrage", "role", "health"].forEach(function (x) { h.appendChild(el("th", null, x)); });
    tb.appendChild(el("thead")).appendChild(h);
    var body = tb.appendChild(el("tbody"));
    (r.members || []).forEach(function (m) {
      var tr = el("tr", { "data-member": m.id, "data-health": m.health });
      tr.appendChild(el("td", null, m.addr || m.admin_addr));
      tr.appendChild(el("td", null, short(m.id)));
      tr.appendChild(el("td", null, m.suffrage));
      var td = el("td"); if (m.leader) td.appendChild(tag("leader", "good")); else td.textContent = "follower"; tr.appendChild(td);
      td = el("td"); td.appendChild(tag(m.health, stateKind(m.health))); tr.appendChild(td);
      body.appendChild(tr);
    });
    wrap.appendChild(tb);
    box.appendChild(wrap);
  }

  function renderShards(t) {
    var box = document.getElementById("shards");
    box.textContent = "";
    if (!t.shards.length) { box.appendChild(el("p", null, t.mode === "cluster" ? "no shards yet" : "not a cluster")); return; }
    t.shards.forEach(function (s, i) {
      var tb = el("table", { "class": "shard", "data-shard": s.id });
      var cap = el("caption");
      var sw = el("span", { "class": "swatch" }); sw.style.background = swatchCSS(i);
      cap.appendChild(sw);
      cap.appendChild(document.createTextNode("shard " + (i + 1) + " (" + short(s.id) + ") · " + s.num_slots + " slots" + (s.slots ? " · " + s.slots : "")));
      tb.appendChild(cap);
      var h = el("tr"); ["node", "role", "state", "link", "offset", "lag"].forEach(function (x) { h.appendChild(el("th", null, x)); });
      tb.appendChild(el("thead")).appendChild(h);
      var body = tb.appendChild(el("tbody"));
      s.nodes.forEach(function (n) {
        var tr = el("tr", { "data-addr": n.addr, "data-role": n.role, "data-state": n.state, "data-link": n.link });
        var td = el("td", { "data-label": "node" }, n.addr + (n.self ? " (this node)" : "")); tr.appendChild(td);
        td = el("td", { "data-label": "role" }); td.appendChild(tag(n.role, n.role === "master" ? "good" : "")); tr.appendChild(td);
        td = el("td", { "data-label": "state" }); td.appendChild(tag(n.state, stateKind(n.state))); tr.appendChild(td);
        td = el("td", { "data-label": "link" }); td.appendChild(tag(n.link, stateKind(n.link))); tr.appendChild(td);
        tr.appendChild(el("td", { "class": "num", "data-label": "offset" }, String(n.offset)));
        tr.appendChild(el("td", { "class": "num", "data-label": "lag" }, n.role === "master" ? "—" : n.lag_bytes + " B, " + n.lag_seconds + " s"));
        if (n.error) tr.title = n.error;
        body.appendChild(tr);
      });
      var wrap = el("div", { "class": "scroll" }); wrap.appendChild(tb);
      box.appendChild(wrap);
    });
  }

  var patCache = {};
  function pattern(ctx, i) {
    var key = i % (HUES.length * PATTERNS.length);
    if (patCache[key]) return patCache[key];
    var c = document.createElement("canvas"); c.width = 8; c.height = 8;
    var g = c.getContext("2d");
    g.fillStyle = HUES[i % HUES.length]; g.fillRect(0, 0, 8, 8);
    g.fillStyle = "rgba(255,255,255,0.85)";
    switch (PATTERNS[Math.floor(i / 1) % PATTERNS.length]) {
      case "diagonal": for (var k = -8; k < 8; k += 4) { g.beginPath(); g.moveTo(k, 8); g.lineTo(k + 8, 0); g.lineWidth = 1.5; g.strokeStyle = "rgba(255,255,255,0.85)"; g.stroke(); } break;
      case "backdiag": for (var k2 = -8; k2 < 8; k2 += 4) { g.beginPath(); g.moveTo(k2, 0); g.lineTo(k2 + 8, 8); g.lineWidth = 1.5; g.strokeStyle = "rgba(255,255,255,0.85)"; g.stroke(); } break;
      case "dots": g.fillRect(1, 1, 2, 2); g.fillRect(5, 5, 2, 2); break;
      case "horizontal": g.fillRect(0, 3, 8, 2); break;
      case "vertical": g.fillRect(3, 0, 2, 8); break;
      case "cross": g.fillRect(0, 3, 8, 2); g.fillRect(3, 0, 2, 8); break;
      case "checker": g.fillRect(0, 0, 4, 4); g.fillRect(4, 4, 4, 4); break;
    }
    patCache[key] = { canvas: c, css: "url(" + c.toDataURL() + ")" };
    return patCache[key];
  }
  function swatchCSS(i) { return pattern(null, i).css; }

  function renderSlots(t) {
    var cv = document.getElementById("slotmap");
    var g = cv.getContext("2d");
    var W = 128, cell = cv.width / W; // 128 x 128 slots
    g.fillStyle = "#fff"; g.fillRect(0, 0, cv.width, cv.height);
    // Unassigned slots: a grey grid, so "empty" is visible without colour.
    g.strokeStyle = "#ddd";
    (t.slots.ranges || []).forEach(function (r) {
      var p = r.shard >= 0 ? g.createPattern(pattern(g, r.shard).canvas, "repeat") : "#000";
      g.fillStyle = p;
      for (var s = r.start; s <= r.end; s++) { g.fillRect((s % W) * cell, Math.floor(s / W) * cell, cell, cell); }
    });
    // Migrating (M) and importing (I) slots: a black frame and a cross.
    function mark(list, cross) {
      (list || []).forEach(function (m) {
        var x = (m.slot % W) * cell, y = Math.floor(m.slot / W) * cell;
        g.strokeStyle = "#000"; g.lineWidth = 1; g.strokeRect(x + .5, y + .5, cell - 1, cell - 1);
        if (cross) { g.beginPath(); g.moveTo(x, y); g.lineTo(x + cell, y + cell); g.stroke(); }
      });
    }
    mark(t.slots.migrating, true); mark(t.slots.importing, false);
    var lg = document.getElementById("slotlegend"); lg.textContent = "";
    lg.appendChild(el("li", null, t.slots.assigned + " of 16384 slots assigned (one cell per slot, 128 per row, slot 0 top left)"));
    t.shards.forEach(function (s, i) {
      var li = el("li"); var sw = el("span", { "class": "swatch" }); sw.style.background = swatchCSS(i);
      li.appendChild(sw);
      var m = s.nodes[0];
      li.appendChild(document.createTextNode("shard " + (i + 1) + ": " + (m ? m.addr : "?") + " — " + (s.slots || "no slots")));
      lg.appendChild(li);
    });
    if ((t.slots.migrating || []).length || (t.slots.importing || []).length) {
      lg.appendChild(el("li", null, "framed and crossed: migrating (" + t.slots.migrating.length + "); framed: importing (" + t.slots.importing.length + ")"));
    }
  }

  function renderSentinel(t) {
    var sec = document.getElementById("sentinel-section");
    var box = document.getElementById("sentinel");
    box.textContent = "";
    if (!t.sentinel_masters || !t.sentinel_masters.length) { sec.hidden = true; return; }
    sec.hidden = false;
    var tb = el("table");
    var h = el("tr"); ["master", "address", "status", "replicas", "sentinels", "epoch"].forEach(function (x) { h.appendChild(el("th", null, x)); });
    tb.appendChild(el("thead")).appendChild(h);
    var body = tb.appendChild(el("tbody"));
    t.sentinel_masters.forEach(function (m) {
      var tr = el("tr", { "data-master": m.name, "data-status": m.status });
      tr.appendChild(el("td", null, m.name)); tr.appendChild(el("td", null, m.address));
      var td = el("td"); td.appendChild(tag(m.status, stateKind(m.status))); tr.appendChild(td);
      tr.appendChild(el("td", { "class": "num" }, String(m.replicas))); tr.appendChild(el("td", { "class": "num" }, String(m.sentinels)));
      tr.appendChild(el("td", { "class": "num" }, String(m.config_epoch)));
      body.appendChild(tr);
    });
    var wrap = el("div", { "class": "scroll" }); wrap.appendChild(tb); box.appendChild(wrap);
  }

  function renderEvents(t) {
    var ol = document.getElementById("events"); ol.textContent = "";
    var evs = (t.events || []).slice().reverse();
    if (!evs.length) { ol.appendChild(el("li", null, "nothing yet (events since this process started)")); }
    evs.forEach(function (e) {
      var li = el("li", { "data-kind": e.kind });
      li.appendChild(el("time", { datetime: e.at }, new Date(e.at).toLocaleTimeString()));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(tag(e.kind, e.kind.indexOf("fail") === 0 ? "warn" : ""));
      li.appendChild(document.createTextNode(" " + e.text + (e.duration_ms ? " — " + (e.duration_ms / 1000).toFixed(2) + " s" : "")));
      ol.appendChild(li);
    });
  }

  function render(t) {
    renderRaft(t); renderShards(t); renderSlots(t); renderSentinel(t); renderEvents(t);
    var u = document.getElementById("updated");
    u.textContent = "updated " + new Date(t.generated_at).toLocaleTimeString();
    u.removeAttribute("data-stale");
    document.body.setAttribute("data-generated", t.generated_at);
  }

  var failures = 0;
  function poll() {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 2000);
    fetch("/api/topology", { cache: "no-store", signal: ctl.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (t) { failures = 0; render(t); })
      .catch(function (err) {
        failures++;
        var u = document.getElementById("updated");
        u.textContent = "NOT UPDATING (" + err.message + ") — " + failures + " failed poll(s)";
        u.setAttribute("data-stale", "1");
      })
      .finally(function () { clearTimeout(timer); setTimeout(poll, POLL_MS); });
  }
  if (window.SKIFF_TOPOLOGY) render(window.SKIFF_TOPOLOGY);
  setTimeout(poll, POLL_MS);
})();
