// The console's only script: live countdowns to each deadline, and keyboard shortcuts.
// Every page works without it.
"use strict";
(function () {
  var DAY = 86400;
  function note(deadline, now, lang) {
    var ja = lang === "ja";
    if (now < deadline) {
      var left = Math.floor((deadline - now) / DAY);
      if (left === 0) {
        var h = Math.floor((deadline - now) / 3600);
        return ja ? "残り" + h + "時間" : h + " h left";
      }
      return ja ? "残り" + left + "日" : left + (left === 1 ? " day left" : " days left");
    }
    var over = Math.floor((now - deadline) / DAY);
    if (over === 0) { return ja ? "期限超過（1日未満）" : "overdue (less than a day)"; }
    return ja ? "期限を" + over + "日超過" : "overdue by " + over + (over === 1 ? " day" : " days");
  }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var d = parseInt(el.getAttribute("data-deadline"), 10);
      var text = note(d, now, el.getAttribute("data-lang"));
      if (el.textContent.charAt(0) === "（") { text = "（" + text + "）"; }
      el.textContent = text;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 60000);
    // j / k move between the queue's cases, Enter opens one, / goes to the filters.
    var links = Array.prototype.slice.call(document.querySelectorAll("table.queue td a"));
    var at = -1;
    document.addEventListener("keydown", function (e) {
      var t = e.target.tagName;
      if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (e.key === "j" && links.length) { at = Math.min(at + 1, links.length - 1); links[at].focus(); e.preventDefault(); }
      if (e.key === "k" && links.length) { at = Math.max(at - 1, 0); links[at].focus(); e.preventDefault(); }
      if (e.key === "/") { var f = document.getElementById("f-risk"); if (f) { f.focus(); e.preventDefault(); } }
    });
  });
})();
