// Live preview for rule text areas (CSP forbids inline scripts, so pages
// mark text areas with data-preview and this file wires them up).
// The call carries the page's CSRF token; a cookie alone is refused.
(function () {
  "use strict";
  function show(target, data) {
    target.textContent = "";
    if (!data.ok) {
      target.className = "preview error";
      data.errors.forEach(function (e) {
        var p = document.createElement("div");
        p.className = "rule-error";
        p.textContent = e.display + (e.expected && e.expected.length ? "（可用：" + e.expected.join("、") + "）" : "");
        target.appendChild(p);
      });
      return;
    }
    target.className = "preview ok";
    target.textContent = "符合 " + data.eligible + " 家，无法判断 " + data.undetermined +
      " 家，不符合 " + data.not_eligible + " 家（共 " + data.total + " 家），预计兑现 " + data.amount_text;
  }
  function wire(area) {
    var target = document.getElementById(area.dataset.target);
    if (!target) return;
    var timer = null, seq = 0;
    function run() {
      var text = area.value;
      if (!text.trim()) { target.textContent = ""; return; }
      var mine = ++seq;
      var body = { text: text };
      if (area.dataset.policy) body.policy_id = Number(area.dataset.policy);
      fetch(area.dataset.preview, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": area.dataset.csrf || "" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (j) { return { status: r.status, body: j }; });
      }).then(function (res) {
        if (mine !== seq) return;
        if (res.status !== 200) {
          target.className = "preview error";
          target.textContent = res.body.message || "试算失败";
          return;
        }
        show(target, res.body);
      }).catch(function () {
        if (mine === seq) target.textContent = "网络错误，暂时无法试算";
      });
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 400);
    });
    run();
  }
  document.querySelectorAll("textarea[data-preview]").forEach(wire);
})();
