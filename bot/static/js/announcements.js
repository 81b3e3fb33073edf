// お知らせの作成: a live counter of the body against LINE's 5,000-character limit, counted as LINE counts
// (UTF-16 code units, which is what String.length is), including the 【緊急】 mark when 緊急 is on.
// The server checks the same limit (bot/announcement_messages.py); this only tells the writer early.
document.addEventListener("DOMContentLoaded", function () {
  var body = document.getElementById("body");
  var counter = document.getElementById("body-count");
  if (!body || !counter) { return; }
  var urgent = document.getElementById("urgent");
  var limit = parseInt(counter.getAttribute("data-limit"), 10);
  var prefix = parseInt(counter.getAttribute("data-prefix"), 10);
  var count = counter.querySelector(".count");
  function update() {
    var used = body.value.length + (urgent && urgent.checked ? prefix : 0);
    count.textContent = used.toLocaleString("ja-JP");
    var over = used > limit;
    counter.classList.toggle("over", over);
    count.setAttribute("data-over", over ? "true" : "false");
    counter.title = over ? "長すぎます。LINEで送れるのは" + limit.toLocaleString("ja-JP") + "文字までです。" : "";
  }
  body.addEventListener("input", update);
  if (urgent) { urgent.addEventListener("change", update); }
  update();
});
