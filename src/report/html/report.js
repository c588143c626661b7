// execnet certify --format html: shows a call's evidence on click (or Enter), highlights the
// calls of a cause, and opens the mark named by the URL fragment (#call-N). No network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("execnet-data").textContent);
  var panel = document.getElementById("details");
  var body = document.getElementById("details-body");
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function row(dl, key, value, mono) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", key));
    var dd = el("dd", value);
    if (mono) dd.className = "mono";
    dl.appendChild(dd);
  }

  function show(index) {
    var c = data.calls[index];
    if (!c) return;
    if (selected) selected.classList.remove("selected");
    selected = document.querySelector('.mark[data-call="' + index + '"]');
    if (selected) selected.classList.add("selected");
    body.textContent = "";
    var h = el("h3", c.argv[1] + (c.pod ? " " + c.pod : "") + " \u2014 " + c.result);
    h.id = "details-title";
    body.appendChild(h);
    var dl = el("dl");
    row(dl, "why", c.purpose);
    row(dl, "scenario", c.scenario + " (seed " + c.seed + ", step " + c.step + ", t=" + c.time + ")");
    row(dl, "container", c.id, true);
    row(dl, "argv", c.argv.join(" "), true);
    row(dl, "result", c.result);
    row(dl, "duration", c.duration_ms.toFixed(1) + " ms");
    row(dl, "status", c.status);
    row(dl, "pod ip", c.pod_ip);
    row(dl, "flags", c.flags.join(", "));
    row(dl, "causes", c.causes.join(", "));
    body.appendChild(dl);
    if (c.output === "") {
      body.appendChild(el("p", "no output", "muted"));
    } else {
      body.appendChild(el("div", "output (" + c.output_bytes + " bytes, stdout and stderr as the kubelet read them)", "muted"));
      body.appendChild(el("pre", c.output, "output"));
    }
    if (c.call_line) {
      body.appendChild(el("div", "make this call again:", "muted"));
      body.appendChild(el("pre", c.call_line, "reproduce"));
    }
    body.appendChild(el("div", "replay its scenario:", "muted"));
    body.appendChild(el("pre", c.replay_line, "reproduce"));
    panel.hidden = false;
  }

  document.addEventListener("click", function (ev) {
    var m = ev.target.closest && ev.target.closest(".mark");
    if (m) { show(m.getAttribute("data-call")); return; }
    var cause = ev.target.closest && ev.target.closest("[data-highlight]");
    if (cause) { highlight(cause.getAttribute("data-highlight")); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { panel.hidden = true; highlight(null); }
    if (ev.key === "Enter" && ev.target.classList && ev.target.classList.contains("mark")) {
      show(ev.target.getAttribute("data-call"));
    }
  });
  document.getElementById("details-close").addEventListener("click", function () {
    panel.hidden = true;
  });

  // Dim every call that a cause does not blame; null shows all again.
  function highlight(cause) {
    var marks = document.querySelectorAll(".mark");
    for (var i = 0; i < marks.length; i++) {
      var causes = (marks[i].getAttribute("data-cause") || "").split(" ");
      marks[i].classList.toggle("dimmed", cause !== null && causes.indexOf(cause) < 0);
    }
  }

  var m = /^#call-(\d+)$/.exec(location.hash);
  if (m) {
    show(m[1]);
    // Scroll only when the mark is out of sight (headless screenshots are of the unscrolled
    // viewport).
    var r = selected && selected.getBoundingClientRect();
    if (r && (r.top < 0 || r.bottom > window.innerHeight || r.left < 0 || r.right > window.innerWidth)) {
      selected.scrollIntoView({ block: "center", inline: "center" });
    }
  }
  var hc = /^#cause-(.+)$/.exec(location.hash);
  if (hc) highlight(decodeURIComponent(hc[1]));
  document.documentElement.setAttribute("data-ready", "1");
})();
