// Tells the server the browser's UTC offset, so times typed into a case form are read in the
// holder's own time zone.
document.querySelectorAll("[data-tz-offset]").forEach(function (input) {
  input.value = String(-new Date().getTimezoneOffset());
});
