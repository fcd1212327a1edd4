// Autosave for the vendor questionnaire. The page works without this script: it only saves
// answers shortly after they change, using the same form fields and POST as the Save buttons,
// and keeps the version fields and the progress figure up to date.
(function () {
  "use strict";
  var form = document.getElementById("answers");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var status = document.getElementById("autosave-status");
  var timer = null;
  var saving = false;
  var pending = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function fields() {
    var data = new FormData(form);
    var body = new URLSearchParams();
    data.forEach(function (value, name) {
      body.append(name, value);
    });
    // Radio groups with nothing chosen send nothing; that is fine, the server skips them.
    return body;
  }

  function showProblems(problems, kind) {
    Object.keys(problems).forEach(function (id) {
      var question = document.getElementById("q-" + id);
      if (!question) {
        return;
      }
      var note = question.querySelector(".autosave-problem");
      if (!note) {
        note = document.createElement("p");
        note.className = "error-message autosave-problem";
        question.insertBefore(note, question.firstChild);
      }
      note.textContent = problems[id];
      question.classList.add("has-error");
    });
    if (Object.keys(problems).length > 0) {
      say(kind);
    }
  }

  function clearProblems() {
    Array.prototype.forEach.call(document.querySelectorAll(".autosave-problem"), function (note) {
      var question = note.parentNode;
      note.parentNode.removeChild(note);
      question.classList.remove("has-error");
    });
  }

  function showToConfirm(count) {
    var note = document.getElementById("to-confirm");
    if (!note) {
      return;
    }
    note.hidden = count === 0;
    note.textContent = count === 0 ? "" : count + (count === 1 ? " answer" : " answers") +
      " from your last assessment still " + (count === 1 ? "needs" : "need") +
      " checking. For each one, tick \u201cThis answer is still correct\u201d or change the answer.";
  }

  // A saved or confirmed answer is no longer carried over, so its box has done its work.
  function settleCarriedOver(id, message) {
    var block = document.getElementById("carried-" + id);
    if (!block) {
      return;
    }
    if (message) {
      var note = document.createElement("p");
      note.className = "hint";
      note.textContent = message;
      block.parentNode.replaceChild(note, block);
    } else {
      block.parentNode.removeChild(block);
    }
  }

  function save() {
    if (saving) {
      pending = true;
      return;
    }
    saving = true;
    say("Saving…");
    fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: fields().toString(),
      credentials: "same-origin"
    })
      .then(function (response) {
        return response.json().then(function (result) {
          return { ok: response.ok, result: result };
        });
      })
      .then(function (answer) {
        var result = answer.result;
        clearProblems();
        if (result.versions) {
          Object.keys(result.versions).forEach(function (id) {
            var field = form.ownerDocument.querySelector('input[name="v.' + id + '"]');
            if (field && !(result.conflicts && result.conflicts[id]) && !(result.errors && result.errors[id])) {
              field.value = result.versions[id];
            }
          });
        }
        if (result.progress) {
          var bar = document.getElementById("progress");
          var text = document.getElementById("progress-text");
          if (bar) {
            bar.max = result.progress.shown;
            bar.value = result.progress.answered;
          }
          if (text) {
            text.textContent = result.progress.answered + " of " + result.progress.shown + " questions answered (" + result.progress.percent + "%)";
          }
          showToConfirm(result.progress.to_confirm || 0);
        }
        (result.confirmed || []).forEach(function (id) {
          settleCarriedOver(id, "You confirmed that this answer is still correct.");
        });
        (result.saved || []).forEach(function (id) {
          settleCarriedOver(id, "");
        });
        if (answer.ok) {
          say("All changes saved at " + new Date().toLocaleTimeString() + ".");
        } else if (result.error) {
          say(result.error.message);
        } else {
          showProblems(result.errors || {}, "Some answers need correcting; see the messages next to them.");
          showProblems(result.conflicts || {}, "Someone else changed an answer you edited; see the message next to it.");
        }
      })
      .catch(function () {
        say("Your latest changes are not saved yet because the connection failed. Press Save to try again.");
      })
      .then(function () {
        saving = false;
        if (pending) {
          pending = false;
          save();
        }
      });
  }

  function schedule() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(save, 800);
  }

  Array.prototype.forEach.call(document.querySelectorAll('[form="answers"]'), function (field) {
    if (field.type === "hidden" || field.type === "submit") {
      return;
    }
    field.addEventListener("change", schedule);
    if (field.tagName === "TEXTAREA" || field.type === "text" || field.type === "number") {
      field.addEventListener("input", schedule);
    }
  });
})();
