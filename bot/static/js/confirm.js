// Buttons that delete or disable ask first. The question is in the form's data-confirm attribute: the
// Content-Security-Policy allows no inline onsubmit handler (bot/security_headers.py).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
