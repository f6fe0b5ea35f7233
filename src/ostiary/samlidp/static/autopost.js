// Submits the SAML form of the page once it is loaded (HTTP-POST binding); without JavaScript the
// page's Continue button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit='true']");
  if (form) { form.submit(); }
});
