// The planning form: streams a plan from /api/plan/events, shows its
// progress, then the plan's own HTML report.
(function () {
  "use strict";
  var form = document.getElementById("plan-form"), go = document.getElementById("go");
  var bar = document.getElementById("progress"), err = document.getElementById("error");
  var result = document.getElementById("result"), frame = document.getElementById("report");
  var urls = [];

  function fill(list, path, key) {
    fetch(path).then(function (r) { return r.json(); }).then(function (d) {
      var el = document.getElementById(list);
      (d[key] || []).forEach(function (x) { var o = document.createElement("option"); o.value = x.id; el.appendChild(o); });
    }).catch(function () { /* the datalists only help typing */ });
  }
  fill("models", "/api/models", "models");
  fill("chips", "/api/chips", "chips");

  // params turns the form into plan's flags: ttft and tpot go to the
  // chosen percentile, empty fields are left out.
  function params() {
    var f = new FormData(form), p = new URLSearchParams(), pct = f.get("percentile");
    f.forEach(function (v, k) {
      v = String(v).trim();
      if (!v || k === "percentile") { return; }
      if (k === "ttft" || k === "tpot") { k = k + "-p" + pct; }
      p.append(k, v);
    });
    return p;
  }

  function fail(msg) {
    err.textContent = msg;
    err.hidden = false;
  }

  function done() {
    go.disabled = false;
    bar.hidden = true;
  }

  function headline(plan) {
    if (plan.answer_text) { return plan.answer_text; }
    var r = plan.recommended;
    if (!r) { return "No plan meets the targets: " + plan.why_text; }
    return "Recommended: " + r.chips + " × " + r.chip + " at $" + r.cost_usd_per_hour.toFixed(1) + "/h, " + r.power_kw.toFixed(1) + " kW.";
  }

  function blob(text, type) {
    var u = URL.createObjectURL(new Blob([text], { type: type }));
    urls.push(u);
    return u;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    err.hidden = true;
    go.disabled = true;
    bar.hidden = false;
    bar.querySelector("progress").removeAttribute("value");
    bar.querySelector("span").textContent = "starting";
    urls.forEach(URL.revokeObjectURL);
    urls = [];
    var es = new EventSource("/api/plan/events?" + params().toString());
    es.addEventListener("progress", function (ev) {
      var p = JSON.parse(ev.data), pr = bar.querySelector("progress");
      pr.max = p.total;
      pr.value = p.done;
      bar.querySelector("span").textContent = p.done + " of " + p.total + " chips searched";
    });
    es.addEventListener("result", function (ev) {
      es.close();
      done();
      var r = JSON.parse(ev.data);
      if (r.status !== 200) { fail(r.error); return; }
      document.getElementById("headline").textContent = headline(r.plan);
      document.getElementById("dl-report").href = blob(r.report, "text/html");
      document.getElementById("dl-json").href = blob(JSON.stringify(r.plan, null, 2), "application/json");
      result.hidden = false;
      frame.srcdoc = r.report;
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED || !go.disabled) { return; }
      es.close();
      done();
      fail("ersatz serve: the connection to the server was lost");
    };
  });

  // The report sizes the frame to its own height once it has drawn.
  frame.addEventListener("load", function () {
    try {
      frame.style.height = frame.contentDocument.documentElement.scrollHeight + 20 + "px";
    } catch (x) { /* a foreign document keeps the default height */ }
  });
})();
